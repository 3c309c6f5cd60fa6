using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace VirtualCluster.Acme;

/// <summary>
/// HTTP-01 (RFC 8555 8.3): the CA fetches <c>http://&lt;domain&gt;/.well-known/acme-challenge/&lt;token&gt;</c> on
/// port 80 and expects the key authorization. Serve <see cref="TryGetResponse"/> at that path.
/// </summary>
public sealed class Http01Challenges : IAcmeChallengeHandler
{
    /// <summary>The path prefix the CA fetches.</summary>
    public const string PathPrefix = "/.well-known/acme-challenge/";

    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public string ChallengeType => "http-01";

    /// <summary>The key authorization for <paramref name="token"/>, when a challenge for it is underway.</summary>
    public bool TryGetResponse(string token, out string keyAuthorization) => _tokens.TryGetValue(token, out keyAuthorization!);

    /// <inheritdoc />
    public ValueTask PublishAsync(string domain, string token, string keyAuthorization, CancellationToken cancellationToken)
    {
        _tokens[token] = keyAuthorization;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask WithdrawAsync(string domain, string token, string keyAuthorization)
    {
        _tokens.TryRemove(token, out _);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// DNS-01 (RFC 8555 8.4): a TXT record at <c>_acme-challenge.&lt;domain&gt;</c> holding base64url(SHA-256(key
/// authorization)), published through the delegates (to an authoritative responder the CA asks).
/// </summary>
public sealed class Dns01Challenges(Action<string, string> publish, Action<string, string> withdraw) : IAcmeChallengeHandler
{
    /// <inheritdoc />
    public string ChallengeType => "dns-01";

    /// <summary>The TXT value for a key authorization.</summary>
    public static string TxtValue(string keyAuthorization) => AcmeAccountKey.Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(keyAuthorization)));

    /// <inheritdoc />
    public ValueTask PublishAsync(string domain, string token, string keyAuthorization, CancellationToken cancellationToken)
    {
        publish($"_acme-challenge.{domain}", TxtValue(keyAuthorization));
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask WithdrawAsync(string domain, string token, string keyAuthorization)
    {
        withdraw($"_acme-challenge.{domain}", TxtValue(keyAuthorization));
        return ValueTask.CompletedTask;
    }
}
