using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Gateway.Access;

/// <summary>Which service a request is for and who may reach it; returned by the resolver of <see cref="ServiceAccessExtensions.UseServiceAccess"/>.</summary>
/// <param name="Service">The service's name.</param>
/// <param name="Access">Its spec's access mode.</param>
public readonly record struct ServiceAccessTarget(string Service, ServiceAccess Access);

/// <summary>Registers and applies the service access check.</summary>
public static class ServiceAccessExtensions
{
    /// <summary>
    /// Adds <see cref="ServiceAccessChecker"/> and its validated <see cref="ServiceAccessOptions"/>. Tokens are checked by
    /// the registered <see cref="IServiceTokenValidator"/>; unless one is registered first, by the cluster's
    /// <c>VirtualCluster.Security.TokenService</c> (its signing key, its id as audience), which must then be registered.
    /// </summary>
    public static IServiceCollection AddServiceAccess(this IServiceCollection services, Action<ServiceAccessOptions>? configure = null)
    {
        services.AddOptions<ServiceAccessOptions>().Configure(configure ?? (_ => { })).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServiceAccessOptions>, ServiceAccessOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IServiceTokenValidator>(sp => new TokenServiceValidator(sp.GetRequiredService<VirtualCluster.Security.TokenService>()));
        services.TryAddSingleton(sp => new ServiceAccessChecker(sp.GetRequiredService<IServiceTokenValidator>(),
            sp.GetRequiredService<IOptions<ServiceAccessOptions>>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ServiceAccessChecker>>(), sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        return services;
    }

    /// <summary>
    /// Checks access before the rest of the pipeline. <paramref name="resolve"/> says which service a request is for
    /// (null: not a service request, pass it on untouched).
    /// </summary>
    public static IApplicationBuilder UseServiceAccess(this IApplicationBuilder app, Func<HttpContext, ServiceAccessTarget?> resolve)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        return app.Use(async (context, next) =>
        {
            if (resolve(context) is { } target)
            {
                var checker = context.RequestServices.GetRequiredService<ServiceAccessChecker>();
                if (!await checker.CheckAsync(context, target.Service, target.Access)) return;
            }
            await next(context);
        });
    }
}
