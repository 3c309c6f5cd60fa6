using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.Agent.Gateway;

/// <summary>
/// TLS for the agent's tunnel and signaling connections to its gateways. A gateway URL of http://, https:// or wss://
/// means wss://: the gateway's certificate must chain to the cluster CA the agent already pins for its control planes
/// (from the join token, --ca-fingerprint or agent.json), so a man in the middle gets no TLS session and never sees the
/// machine token, which goes only in the request after the handshake. For an https:// URL a certificate the system trusts
/// for that host name passes too (a gateway fronted by a proxy with a public certificate). The node's client certificate
/// is presented when the agent holds one. Only an explicit ws:// URL connects in plain text, with a warning.
/// </summary>
internal sealed partial class GatewayConnectionTls(AgentTrust trust, AgentCertificate certificate, AgentOptions options, ILogger<GatewayConnectionTls> logger)
{
    private int _plainWarned;

    /// <summary>Sets TLS on a WebSocket about to connect to <paramref name="uri"/> (a tunnel or signaling URL of gateway <paramref name="gateway"/>).</summary>
    public async ValueTask ConfigureAsync(Uri gateway, Uri uri, ClientWebSocketOptions socket, CancellationToken ct)
    {
        if (uri.Scheme == "ws")
        {
            if (Interlocked.Exchange(ref _plainWarned, 1) == 0) LogPlain(logger, gateway);
            return;
        }
        var validator = trust.Validator;
        if (validator is { Ca: null })
        {
            // After a restart the tunnel may start before the first heartbeat taught the validator its CA: fetch and
            // check it the way a join does (the pinned fingerprint decides, whoever answers).
            var server = ControlPlaneFailoverHandler.Split(options.ServerUrl)[0];
            try { await CaDiscovery.LearnAsync(new Uri(server), validator, ct).ConfigureAwait(false); }
            catch (HttpRequestException e) { LogCaUnknown(logger, gateway, e.Message); }
        }
        var publicName = gateway.Scheme is "https" or "wss";
        socket.RemoteCertificateValidationCallback = (sender, presented, chain, errors) =>
        {
            if (validator is not null && validator.Ca is not null && validator.Validate(sender, presented, chain, errors)) return true;
            // A certificate of a public CA for the name in an explicit https:// or wss:// URL.
            if (publicName && errors == SslPolicyErrors.None) return true;
            LogRefused(logger, gateway, validator is null
                ? "it is not trusted by the system for this name, and no cluster CA is pinned (give the agent --ca-fingerprint)"
                : validator.LastProblem ?? "it does not chain to the cluster's CA");
            return false;
        };
        if (certificate.Current is { } client) socket.ClientCertificates = new X509CertificateCollection { client };
    }

    [LoggerMessage(5350, LogLevel.Warning, "Gateway {Gateway}: ws:// asked for explicitly, so the tunnel and signaling run in plain text and the machine token can be read on the way; use http:// or wss:// for TLS")]
    private static partial void LogPlain(ILogger logger, Uri gateway);

    [LoggerMessage(5351, LogLevel.Warning, "Gateway {Gateway}: refused its TLS certificate ({Reason}); not sending the machine token, retrying later")]
    private static partial void LogRefused(ILogger logger, Uri gateway, string reason);

    [LoggerMessage(5352, LogLevel.Warning, "Gateway {Gateway}: cannot learn the cluster CA from the control plane yet ({Reason}); its certificate cannot be checked until then")]
    private static partial void LogCaUnknown(ILogger logger, Uri gateway, string reason);
}
