using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using VirtualCluster.Security;

namespace VirtualCluster.Routing.Signaling;

/// <summary>Registers and maps the signaling hub in an ASP.NET Core host (gateway or web host).</summary>
public static class SignalingEndpoints
{
    /// <summary>The path hosts map the hub at by default.</summary>
    public const string DefaultPath = "/v1/signaling";

    /// <summary>
    /// Adds <see cref="SignalingHub"/> with validated <see cref="SignalingHubOptions"/>. Unless another
    /// <see cref="ISignalingAuthenticator"/> is registered first, peers authenticate with machine tokens checked by every
    /// <see cref="TokenService"/> registered (one per cluster served).
    /// </summary>
    public static IServiceCollection AddVirtualClusterSignaling(this IServiceCollection services, Action<SignalingHubOptions>? configure = null)
    {
        services.AddOptions<SignalingHubOptions>().Configure(configure ?? (_ => { })).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SignalingHubOptions>, SignalingHubOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISignalingAuthenticator>(sp => new TokenSignalingAuthenticator(sp.GetServices<TokenService>()));
        services.TryAddSingleton<SignalingHub>();
        return services;
    }

    /// <summary>Maps the hub's WebSocket endpoint at <paramref name="pattern"/> (WebSocket support included; no <c>UseWebSockets</c> needed).</summary>
    public static IEndpointConventionBuilder MapVirtualClusterSignaling(this IEndpointRouteBuilder endpoints, string pattern = DefaultPath)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var pipeline = endpoints.CreateApplicationBuilder().UseWebSockets();
        pipeline.Run(context => context.RequestServices.GetRequiredService<SignalingHub>().HandleAsync(context));
        return endpoints.Map(pattern, pipeline.Build());
    }
}
