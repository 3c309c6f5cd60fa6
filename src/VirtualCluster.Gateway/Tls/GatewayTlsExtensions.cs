using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using VirtualCluster.Acme;

namespace VirtualCluster.Gateway.Tls;

/// <summary>Adds HTTPS to a gateway: ACME certificates, the user's fallback certificate, SNI selection, redirects.</summary>
public static class GatewayTlsExtensions
{
    /// <summary>
    /// Registers the certificate store, the ACME service (when <see cref="GatewayTlsOptions.AcmeDirectory"/> is set)
    /// and the HTTP-01 token table. Call after <see cref="GatewayServiceCollectionExtensions.AddVirtualClusterGateway"/>;
    /// serve https endpoints with <see cref="ListenGatewayHttps"/>.
    /// </summary>
    public static IServiceCollection AddVirtualClusterGatewayTls(this IServiceCollection services, Action<GatewayTlsOptions> configure)
    {
        services.AddOptions<GatewayTlsOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayTlsOptions>, GatewayTlsOptionsValidator>());
        services.TryAddSingleton<Http01Challenges>();
        services.TryAddSingleton(sp =>
        {
            var certificates = new GatewayCertificates();
            var o = sp.GetRequiredService<IOptions<GatewayTlsOptions>>().Value;
            if (o.CertificatePath is { } path)
            {
                var chain = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
                chain.ImportFromPemFile(path);
                var leaf = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(path, o.KeyPath);
                chain.RemoveAt(0);
                certificates.SetFallback(leaf, chain);
            }
            return certificates;
        });
        services.TryAddSingleton<IGatewayCertificateStore, ControlPlaneCertificateStore>();
        services.AddHostedService<AcmeCertificateService>();
        return services;
    }

    /// <summary>
    /// Listens for HTTPS on <paramref name="endpoint"/>, choosing the certificate per handshake by SNI from
    /// <see cref="GatewayCertificates"/>; a name with none fails the handshake (no certificate for it yet).
    /// </summary>
    public static void ListenGatewayHttps(this KestrelServerOptions kestrel, IPEndPoint endpoint)
    {
        kestrel.Listen(endpoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(new TlsHandshakeCallbackOptions
            {
                HandshakeTimeout = TimeSpan.FromSeconds(10),
                OnConnection = context =>
                {
                    var certificates = kestrel.ApplicationServices.GetRequiredService<GatewayCertificates>();
                    var entry = certificates.Select(context.ClientHelloInfo.ServerName)
                        ?? throw new AuthenticationFailure($"no certificate for \"{context.ClientHelloInfo.ServerName}\" yet");
                    return ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = entry.Context,
                        ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
                    });
                },
            });
        });
    }

    /// <summary>Puts the ACME token responder and the HTTPS redirect in front of the gateway; call before <see cref="GatewayServiceCollectionExtensions.UseVirtualClusterGateway"/>.</summary>
    public static IApplicationBuilder UseVirtualClusterGatewayTls(this IApplicationBuilder app) => app.UseMiddleware<GatewayTlsMiddleware>();

    private sealed class AuthenticationFailure(string message) : System.Security.Authentication.AuthenticationException(message);
}
