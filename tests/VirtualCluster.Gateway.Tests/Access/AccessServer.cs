using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster.Gateway.Access;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Tests.Access;

/// <summary>
/// A real Kestrel app with the access middleware in front of an endpoint that reports what reached it. Two services
/// by host name: "secret" needs a token, "open" is public.
/// </summary>
internal static class AccessServer
{
    public static async Task<(WebApplication App, int Port)> StartAsync(TokenService tokens, Action<ServiceAccessOptions>? access = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(tokens);
        builder.Services.AddServiceAccess(access);
        var app = builder.Build();
        app.UseServiceAccess(context => context.Request.Host.Host.Split('.')[0] switch
        {
            "secret" => new ServiceAccessTarget("secret", ServiceAccess.Token),
            "open" => new ServiceAccessTarget("open", ServiceAccess.Public),
            _ => null,
        });
        app.MapGet("/{**path}", (HttpContext context) => Results.Json(new
        {
            authorization = context.Request.Headers.Authorization.ToString(),
            cookie = context.Request.Headers.Cookie.ToString(),
            query = context.Request.QueryString.Value ?? "",
        }));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, new Uri(address).Port);
    }
}
