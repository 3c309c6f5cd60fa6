namespace VirtualCluster.Acme;

/// <summary>
/// Proves control of a name for one challenge type: publishes what the CA will look for, and withdraws it afterwards.
/// Built in: an HTTP-01 token table (serve it at <c>/.well-known/acme-challenge/</c>) and a DNS-01 TXT table (serve
/// it from an authoritative DNS responder).
/// </summary>
public interface IAcmeChallengeHandler
{
    /// <summary>The challenge type this handler answers: <c>http-01</c> or <c>dns-01</c>.</summary>
    string ChallengeType { get; }

    /// <summary>Makes the proof visible for <paramref name="domain"/> (the authorization's name, without "*.").</summary>
    ValueTask PublishAsync(string domain, string token, string keyAuthorization, CancellationToken cancellationToken);

    /// <summary>Removes the proof once the authorization is decided, valid or not.</summary>
    ValueTask WithdrawAsync(string domain, string token, string keyAuthorization);
}
