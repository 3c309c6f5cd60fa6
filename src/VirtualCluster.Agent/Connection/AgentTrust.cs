using VirtualCluster.Security.Tls;

namespace VirtualCluster.Agent.Connection;

/// <summary>
/// Which certificates the agent accepts from https control planes: the cluster CA named by --ca-fingerprint, else by
/// the join token, else by agent.json (saved at the last join); without any, the system's trust store.
/// </summary>
internal sealed class AgentTrust
{
    private AgentTrust(PinnedCaValidator? validator) => Validator = validator;

    /// <summary>The pinned CA's validator; null when the system's trust store decides.</summary>
    public PinnedCaValidator? Validator { get; }

    /// <summary>The pinned fingerprint, saved in agent.json.</summary>
    public string? Fingerprint => Validator?.Fingerprint;

    public static AgentTrust Create(AgentOptions options) =>
        new(FingerprintFor(options) is { } fingerprint ? PinnedCaValidator.ForFingerprint(fingerprint) : null);

    public static string? FingerprintFor(AgentOptions options) =>
        options.CaFingerprint is { } given ? PinnedHttp.Parse(given)
            : JoinTokenCa.Read(options.JoinToken) ?? AgentIdentity.Load(options.DataDirectory)?.CaFingerprint;

    public DelegatingHandler DiscoveryHandler() => Validator is null ? new PassThrough() : new CaDiscoveryHandler(Validator);

    public SocketsHttpHandler SocketsHandler()
    {
        var handler = new SocketsHttpHandler();
        if (Validator is not null) handler.SslOptions.RemoteCertificateValidationCallback = Validator.Validate;
        return handler;
    }

    private sealed class PassThrough : DelegatingHandler;
}
