using System.IO.Pipelines;
using System.Net.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace VirtualCluster.Gateway.AgentTls;

/// <summary>Serves agents over TLS on the gateway's plain-http port.</summary>
public static class AgentTlsListenExtensions
{
    /// <summary>The first byte of a TLS connection: a handshake record (RFC 8446, 5.1). No HTTP request starts with it.</summary>
    private const byte TlsHandshakeRecord = 0x16;

    private static readonly TimeSpan FirstByteTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Makes a plain-http endpoint speak TLS too: a connection whose first byte opens a TLS handshake gets one, with
    /// <paramref name="certificate"/> (the cluster CA's), and everything else stays plain HTTP. So browsers keep
    /// http://&lt;service&gt;.&lt;domain&gt;:port/ as today, while agents, given the same http://gateway:port URL,
    /// connect with wss:// to that port and check the certificate against the cluster CA they pin. One port, no new
    /// setting, and the machine token never crosses in clear. HTTP/1.1 only (the plain side must not be taken for
    /// HTTP/2 prior knowledge, and agents' WebSockets are HTTP/1.1).
    /// </summary>
    public static ListenOptions UseGatewayAgentTls(this ListenOptions listen, AgentTlsCertificate certificate)
    {
        listen.Protocols = HttpProtocols.Http1;
        ConnectionDelegate? plain = null;
        // Middleware runs in the order added: this one looks at the first byte, then either goes on to TLS (next) or
        // skips it, straight to what comes after TLS (captured below when Kestrel builds the chain).
        listen.Use(next => async connection =>
        {
            var tls = await StartsWithTlsAsync(connection).ConfigureAwait(false);
            if (tls is null) return;
            // No certificate yet (the control plane is away; AgentTlsCertificate logs why): close, the agent retries.
            if (tls.Value && certificate.Context is null) return;
            await (tls.Value ? next : plain!)(connection).ConfigureAwait(false);
        });
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(10),
            OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = certificate.Context,
                // Agents present their node's client certificate; it is checked after the handshake (AgentTransportMiddleware),
                // so a refusal is an answer that says why, not a dropped connection.
                ClientCertificateRequired = true,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }),
        });
        listen.Use(next => plain = next);
        return listen;
    }

    /// <summary>True for TLS, false for anything else, null when the client sent nothing in time or closed.</summary>
    private static async Task<bool?> StartsWithTlsAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        using var timeout = new CancellationTokenSource(FirstByteTimeout);
        ReadResult read;
        try
        {
            read = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            connection.Abort();
            return null;
        }
        if (read.Buffer.IsEmpty)
        {
            input.AdvanceTo(read.Buffer.Start);
            return null;
        }
        var first = System.Buffers.BuffersExtensions.ToArray(read.Buffer.Slice(0, 1))[0];
        // Nothing consumed or examined: the next reader (TLS or HTTP) sees the same bytes at once.
        input.AdvanceTo(read.Buffer.Start);
        return first == TlsHandshakeRecord;
    }
}
