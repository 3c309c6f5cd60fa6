namespace VirtualCluster.Security.Tls;

/// <summary>HTTP handlers for clients of the control plane (agents, gateways, the CLI).</summary>
public static class PinnedHttp
{
    /// <summary>
    /// A handler that trusts only the cluster CA named by <paramref name="fingerprint"/> (fetched and checked before
    /// the first https request), or the system's trust store when no fingerprint is given (a control plane behind a
    /// certificate of a public CA, or plain http).
    /// </summary>
    /// <exception cref="ArgumentException">The fingerprint is malformed.</exception>
    public static HttpMessageHandler CreateHandler(string? fingerprint, TimeSpan? connectTimeout = null) =>
        CreateHandler(fingerprint is null ? null : PinnedCaValidator.ForFingerprint(Parse(fingerprint)), connectTimeout);

    /// <summary>As <see cref="CreateHandler(string?, TimeSpan?)"/>, with a validator the caller keeps (to read its CA).</summary>
    public static HttpMessageHandler CreateHandler(PinnedCaValidator? validator, TimeSpan? connectTimeout = null)
    {
        var sockets = new SocketsHttpHandler();
        if (connectTimeout is { } timeout) sockets.ConnectTimeout = timeout;
        if (validator is null) return sockets;
        sockets.SslOptions.RemoteCertificateValidationCallback = validator.Validate;
        return new CaDiscoveryHandler(validator) { InnerHandler = sockets };
    }

    /// <summary>Normalises a fingerprint; throws with the reason when it is malformed.</summary>
    /// <exception cref="ArgumentException">The fingerprint is malformed.</exception>
    public static string Parse(string fingerprint) =>
        TlsFingerprint.TryParse(fingerprint, out var parsed, out var problem) ? parsed : throw new ArgumentException(problem, nameof(fingerprint));
}
