using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.ControlPlane.Tls;

/// <summary>Kestrel endpoints for the control-plane API: https with the cluster CA's certificate, or plain http when asked.</summary>
public static class ControlPlaneKestrel
{
    private const string HandshakeDone = "vcluster.tls.handshake-done";

    /// <summary>
    /// Listens on <paramref name="url"/> (http or https; host an IP address, <c>localhost</c>, <c>0.0.0.0</c> or <c>[::]</c>).
    /// For https the server certificate comes from <see cref="ClusterTls"/>, renewed without a restart.
    /// </summary>
    /// <exception cref="ArgumentException">The URL is not http(s) or its host is a name other than localhost.</exception>
    public static void ListenControlPlane(this KestrelServerOptions kestrel, Uri url)
    {
        if (url.Scheme is not ("http" or "https"))
            throw new ArgumentException($"\"{url}\" is not an http or https URL; use e.g. https://127.0.0.1:7070", nameof(url));
        var secure = url.Scheme == "https";
        TlsConnectionLog? log = null;
        TlsConnectionLog Log() => log ??= new TlsConnectionLog(
            kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("VirtualCluster.ControlPlane.Tls"),
            kestrel.ApplicationServices.GetService<TimeProvider>() ?? TimeProvider.System,
            kestrel.ApplicationServices.GetRequiredService<IMeterFactory>().Create("VirtualCluster.ControlPlane"));
        void Configure(ListenOptions listen)
        {
            // Outermost: looks at the first byte (a TLS record starts with 0x16, a handshake) without consuming it.
            listen.Use(next => async connection =>
            {
                System.IO.Pipelines.ReadResult read;
                try
                {
                    read = await connection.Transport.Input.ReadAsync(connection.ConnectionClosed);
                }
                catch (OperationCanceledException)
                {
                    return; // closed before saying anything
                }
                var tlsHello = !read.Buffer.IsEmpty && read.Buffer.FirstSpan[0] == 0x16;
                connection.Transport.Input.AdvanceTo(read.Buffer.Start);
                if (read.Buffer.IsEmpty) return;
                var remote = connection.RemoteEndPoint?.ToString();
                if (secure && !tlsHello) Log().PlainHttpOnTlsPort(remote);
                if (!secure && tlsHello) Log().TlsOnPlainPort(remote);
                await next(connection);
                if (secure && tlsHello && !connection.Items.ContainsKey(HandshakeDone)) Log().HandshakeFailed(remote);
            });
            if (!secure) return;
            listen.UseHttps(new TlsHandshakeCallbackOptions
            {
                OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = kestrel.ApplicationServices.GetRequiredService<ClusterTls>().ServerContext(),
                    // Asked for, not required: agents present their node's certificate, people and the CLI have none.
                    // Any certificate passes the handshake; the agent endpoints check it (AgentCertificates), so a
                    // refusal is an HTTP answer saying why, and logged, instead of a dropped connection.
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = static (_, _, _, _) => true,
                }),
                HandshakeTimeout = TimeSpan.FromSeconds(10),
            });
            // Inside TLS: reached only after a handshake that succeeded.
            listen.Use(next => connection =>
            {
                connection.Items[HandshakeDone] = true;
                return next(connection);
            });
        }
        if (url.IsLoopback && url.Host == "localhost") kestrel.ListenLocalhost(url.Port, Configure);
        else if (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address)) kestrel.Listen(address, url.Port, Configure);
        else throw new ArgumentException($"the host of \"{url}\" must be an IP address or localhost (0.0.0.0 for every address)", nameof(url));
    }
}
