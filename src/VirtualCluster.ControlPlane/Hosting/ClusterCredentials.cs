using VirtualCluster.ControlPlane.Keys;
using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane;

/// <summary>
/// The cluster's id and its two long-lived tokens, created on first start and kept in the store, so tokens stay valid
/// across restarts. The tokens are also written to files readable only by the owner, and issued again when the key
/// that signed them is rotated out (<see cref="BootstrapTokens"/>). Token keys: <see cref="TokenKeyManager"/>.
/// </summary>
public sealed class ClusterCredentials
{
    /// <summary>Name of the admin token file in the data directory.</summary>
    public const string AdminTokenFile = BootstrapTokens.AdminTokenFile;

    /// <summary>Name of the join token file in the data directory.</summary>
    public const string JoinTokenFile = BootstrapTokens.JoinTokenFile;

    private const string ClusterIdSetting = "cluster-id";

    private ClusterCredentials(string clusterId, string adminToken, string joinToken)
    {
        ClusterId = clusterId;
        AdminToken = adminToken;
        JoinToken = joinToken;
    }

    /// <summary>
    /// The cluster's id, made once and kept in the store: the audience (<c>aud</c>) of the tokens it issues, so a
    /// service token of one cluster is refused by another cluster's gateway.
    /// </summary>
    public string ClusterId { get; }

    /// <summary>Token for CLI users (role admin), as it was at start (the file is kept current).</summary>
    public string AdminToken { get; }

    /// <summary>Token agents present to join (role join), as it was at start (the file is kept current).</summary>
    public string JoinToken { get; }

    /// <summary>The cluster's id: read, or made on first start.</summary>
    public static Task<string> LoadOrCreateClusterIdAsync(IClusterStore store, CancellationToken ct = default) =>
        store.GetOrAddSettingAsync(ClusterIdSetting, "vc-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)), ct);

    /// <summary>Loads or creates the credentials and writes the token files.</summary>
    /// <param name="store">The cluster store.</param>
    /// <param name="dataDirectory">Where the token files go.</param>
    /// <param name="tokens">Issues the tokens (this control plane's signing key).</param>
    /// <param name="joins">Lists the bootstrap join token.</param>
    /// <param name="caFingerprint">The cluster CA's fingerprint, carried by the bootstrap join token.</param>
    /// <param name="ct">Cancels.</param>
    public static async Task<ClusterCredentials> LoadOrCreateAsync(IClusterStore store, string dataDirectory, TokenService tokens, Joins.JoinTokenDirectory joins,
        string? caFingerprint = null, CancellationToken ct = default)
    {
        var clusterId = await LoadOrCreateClusterIdAsync(store, ct);
        var (admin, join) = await BootstrapTokens.EnsureAsync(store, tokens, joins, dataDirectory, caFingerprint, ct);
        return new ClusterCredentials(clusterId, admin, join);
    }
}
