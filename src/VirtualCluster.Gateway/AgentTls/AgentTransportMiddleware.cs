using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Routing.Signaling;
using VirtualCluster.Routing.Tunnel;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.Gateway.AgentTls;

/// <summary>
/// Guards the agent-facing endpoints (<c>/v1/tunnel</c>, <c>/v1/signaling</c>): over plain HTTP they answer 426 unless
/// <see cref="GatewayOptions.AllowPlainAgents"/> (the token has crossed in clear by then, but it is never accepted, so
/// an agent or script misconfigured that way fails loudly instead of leaking a token on every reconnect). Over TLS a
/// client certificate, when presented, must be the cluster CA's, meant for clients, and the token's node's (403
/// otherwise), and one is required with <see cref="GatewayOptions.RequireClientCertificate"/>. Each accepted
/// connection is logged with its TLS protocol.
/// </summary>
internal sealed partial class AgentTransportMiddleware(RequestDelegate next, IOptions<GatewayOptions> options, AgentTlsCertificate certificate,
    ITunnelAuthenticator authenticator, ILogger<AgentTransportMiddleware> logger, TimeProvider time)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!path.Equals(TunnelClient.Path, StringComparison.OrdinalIgnoreCase) && !path.Equals(SignalingEndpoints.DefaultPath, StringComparison.OrdinalIgnoreCase))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var remote = context.Connection.RemoteIpAddress?.ToString() ?? "?";
        if (!context.Request.IsHttps)
        {
            if (!options.Value.AllowPlainAgents)
            {
                LogRefusedPlain(logger, path.Value!, remote);
                context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
                context.Response.Headers.Upgrade = "TLS/1.3, HTTP/1.1";
                await context.Response.WriteAsync($"{path} takes TLS only (wss://): give the agent this gateway as http://host:port or wss://host:port, not ws://; or start the gateway with --allow-plain-agents (then machine tokens cross in clear)\n").ConfigureAwait(false);
                return;
            }
            LogPlain(logger, path.Value!, remote);
            await next(context).ConfigureAwait(false);
            return;
        }
        var protocol = context.Features.Get<ITlsHandshakeFeature>()?.Protocol.ToString() ?? "TLS";
        var client = await context.Connection.GetClientCertificateAsync(context.RequestAborted).ConfigureAwait(false);
        if (client is not null && Refusal(client) is { } problem)
        {
            LogRefusedCertificate(logger, path.Value!, remote, problem);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync($"client certificate refused: {problem}\n").ConfigureAwait(false);
            return;
        }
        if (client is null && options.Value.RequireClientCertificate)
        {
            LogRefusedCertificate(logger, path.Value!, remote, "no client certificate, and this gateway requires one (--require-client-cert)");
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync("this gateway requires the node's client certificate (--require-client-cert): agents get one when they join; join this machine again with a join token if it has none\n").ConfigureAwait(false);
            return;
        }
        var identity = client is null ? null : NodeCertificates.ReadIdentity(client);
        if (identity?.NodeId is { } certificateNode && BearerToken(context) is { } token)
        {
            // A node's certificate goes with that node's token only (the control plane's rule too): a token copied off
            // another node is no use with this node's certificate. Invalid tokens are left to the endpoint's 401. The
            // check is the endpoint's own (cached for a standalone gateway), so it costs no extra call.
            var (peer, _) = await authenticator.AuthenticateAsync(token, context.RequestAborted).ConfigureAwait(false);
            if (peer is not null && peer.NodeId != certificateNode)
            {
                var mismatch = $"the client certificate is node {certificateNode}'s, the token node {peer.NodeId}'s";
                LogRefusedCertificate(logger, path.Value!, remote, mismatch);
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await context.Response.WriteAsync($"client certificate refused: {mismatch}\n").ConfigureAwait(false);
                return;
            }
        }
        LogAccepted(logger, path.Value!, remote, protocol, client is null ? "none" : identity?.NodeId ?? client.Subject);
        await next(context).ConfigureAwait(false);
    }

    private static string? BearerToken(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }

    /// <summary>Why a presented client certificate is not acceptable; null when it chains to the cluster CA with clientAuth and is valid now.</summary>
    private string? Refusal(X509Certificate2 client)
    {
        var ca = certificate?.Ca;
        if (ca is null) return null; // TLS is up only once the CA is known, so this is a host without agent TLS
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(NodeCertificates.ClientAuthOid));
        if (!chain.Build(client) || TlsFingerprint.Of(chain.ChainElements[^1].Certificate) != TlsFingerprint.Of(ca))
            return $"{client.Subject} is not a client certificate of the cluster CA valid now ({string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct())})";
        return null;
    }

    [LoggerMessage(6210, LogLevel.Warning, "Agents' tunnels and signaling are accepted over plain ws:// too (--allow-plain-agents): a machine token sent that way can be read on the network")]
    internal static partial void LogPlainAllowed(ILogger logger);

    [LoggerMessage(6211, LogLevel.Warning, "Refused {Path} from {Remote} in plain text (426): agents connect with TLS; --allow-plain-agents accepts plain ws://")]
    private static partial void LogRefusedPlain(ILogger logger, string path, string remote);

    [LoggerMessage(6212, LogLevel.Debug, "{Path} from {Remote} in plain text (--allow-plain-agents)")]
    private static partial void LogPlain(ILogger logger, string path, string remote);

    [LoggerMessage(6213, LogLevel.Warning, "Refused {Path} from {Remote} (403): {Problem}")]
    private static partial void LogRefusedCertificate(ILogger logger, string path, string remote, string problem);

    [LoggerMessage(6214, LogLevel.Information, "Agent connection {Path} from {Remote} over {Protocol}, client certificate: {Client}")]
    private static partial void LogAccepted(ILogger logger, string path, string remote, string protocol, string client);
}
