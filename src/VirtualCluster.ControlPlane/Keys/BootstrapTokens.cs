using Microsoft.IdentityModel.JsonWebTokens;
using VirtualCluster.ControlPlane.Joins;
using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Keys;

/// <summary>
/// The two tokens that never expire (the bootstrap <c>admin.token</c> and <c>join.token</c>), kept in the store and
/// written to owner-only files. They are issued again, by compare-and-set so one control plane wins, whenever the key
/// that signed them is on its way out: the old HMAC key of a cluster made before ES256 (on the first start after the
/// upgrade), or a key rotated out. Each control plane rewrites its files when the stored tokens change.
/// </summary>
public static class BootstrapTokens
{
    /// <summary>Name of the admin token file in the data directory.</summary>
    public const string AdminTokenFile = "admin.token";

    /// <summary>Name of the join token file in the data directory.</summary>
    public const string JoinTokenFile = "join.token";

    private const string AdminSetting = "admin-token";
    private const string JoinSetting = "join-token";

    /// <summary>Reads (or creates) both tokens, issues them again if their key is retiring, and writes the files.</summary>
    /// <param name="caFingerprint">The cluster CA's fingerprint, written into a new join token (agents pin the CA with it).</param>
    public static async Task<(string Admin, string Join)> EnsureAsync(IClusterStore store, TokenService tokens, JoinTokenDirectory joins, string dataDirectory,
        string? caFingerprint, CancellationToken ct)
    {
        var admin = await CurrentAsync(store, AdminSetting, tokens, () => tokens.Issue("admin", TokenRoles.Admin), ct);
        string? newJoinId = null;
        var join = await CurrentAsync(store, JoinSetting, tokens, () =>
        {
            var (token, id) = tokens.IssueJoinToken(lifetime: null, caFingerprint);
            newJoinId = id;
            return token;
        }, ct);
        // Joins are admitted only with listed tokens: list the bootstrap one (also for clusters made before the list).
        if ((await tokens.ValidateAsync(join)).Principal?.TokenId is { } joinId)
            await joins.EnsureBootstrapAsync(joinId, ct);
        else if (newJoinId is not null)
            await joins.EnsureBootstrapAsync(newJoinId, ct);
        Directory.CreateDirectory(dataDirectory);
        WriteIfChanged(Path.Combine(dataDirectory, AdminTokenFile), admin);
        WriteIfChanged(Path.Combine(dataDirectory, JoinTokenFile), join);
        return (admin, join);
    }

    private static async Task<string> CurrentAsync(IClusterStore store, string setting, TokenService tokens, Func<string> issue, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var stored = await store.GetSettingAsync(setting, ct);
            if (stored is not null && tokens.Keys.IsCurrentKey(KeyIdOf(stored))) return stored;
            var fresh = issue();
            if (await store.ReplaceSettingAsync(setting, stored, fresh, ct)) return fresh;
        }
        throw new InvalidOperationException($"The {setting} setting kept changing under 20 attempts to renew it; restart the control plane.");
    }

    private static string? KeyIdOf(string token)
    {
        try
        {
            var kid = new JsonWebToken(token).Kid;
            return string.IsNullOrEmpty(kid) ? null : kid;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static void WriteIfChanged(string path, string value)
    {
        if (File.Exists(path) && File.ReadAllText(path).Trim() == value) return;
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(value + "\n");
        File.Move(temp, path, overwrite: true);
    }
}
