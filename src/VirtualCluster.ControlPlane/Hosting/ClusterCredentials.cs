using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane;

/// <summary>
/// The cluster's signing key and its two long-lived tokens, created on first start and kept in the store,
/// so tokens stay valid across restarts. The tokens are also written to files readable only by the owner.
/// </summary>
public sealed class ClusterCredentials
{
    /// <summary>Name of the admin token file in the data directory.</summary>
    public const string AdminTokenFile = "admin.token";

    /// <summary>Name of the join token file in the data directory.</summary>
    public const string JoinTokenFile = "join.token";

    private ClusterCredentials(string clusterId, byte[] key, string adminToken, string joinToken)
    {
        ClusterId = clusterId;
        SigningKey = key;
        AdminToken = adminToken;
        JoinToken = joinToken;
    }

    /// <summary>
    /// The cluster's id, made once and kept in the store: the audience (<c>aud</c>) of the tokens it issues, so a
    /// service token of one cluster is refused by another cluster's gateway.
    /// </summary>
    public string ClusterId { get; }

    /// <summary>HMAC key for every token of this cluster.</summary>
    public byte[] SigningKey { get; }

    /// <summary>Token for CLI users (role admin).</summary>
    public string AdminToken { get; }

    /// <summary>Token agents present to join (role join).</summary>
    public string JoinToken { get; }

    /// <summary>Loads or creates the credentials and writes the token files.</summary>
    /// <param name="store">The cluster store.</param>
    /// <param name="dataDirectory">Where the token files go.</param>
    /// <param name="time">Clock.</param>
    /// <param name="caFingerprint">The cluster CA's fingerprint, carried by the bootstrap join token (made on first start).</param>
    /// <param name="ct">Cancels.</param>
    public static async Task<ClusterCredentials> LoadOrCreateAsync(IClusterStore store, string dataDirectory, TimeProvider time, string? caFingerprint = null, CancellationToken ct = default)
    {
        var key = Convert.FromBase64String(await store.GetOrAddSettingAsync("signing-key", Convert.ToBase64String(TokenService.CreateKey()), ct));
        var clusterId = await store.GetOrAddSettingAsync("cluster-id", "vc-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)), ct);
        var tokens = new TokenService(key, timeProvider: time, audience: clusterId);
        var admin = await store.GetOrAddSettingAsync("admin-token", tokens.Issue("admin", TokenRoles.Admin), ct);
        var join = await store.GetOrAddSettingAsync("join-token", tokens.IssueJoinToken(lifetime: null, caFingerprint).Token, ct);
        // Joins are admitted only with listed tokens: list the bootstrap one (also for clusters made before the list).
        if ((await tokens.ValidateAsync(join)).Principal?.TokenId is { } joinId)
            await new Joins.JoinTokenDirectory(store, time).EnsureBootstrapAsync(joinId, ct);
        Directory.CreateDirectory(dataDirectory);
        WriteSecret(Path.Combine(dataDirectory, AdminTokenFile), admin);
        WriteSecret(Path.Combine(dataDirectory, JoinTokenFile), join);
        return new ClusterCredentials(clusterId, key, admin, join);
    }

    private static void WriteSecret(string path, string value)
    {
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(value + "\n");
        File.Move(temp, path, overwrite: true);
    }
}
