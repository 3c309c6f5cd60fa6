using System.Security.Cryptography;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Users;

/// <summary>A named user as stored: the generation changes when a user is removed and added again.</summary>
public sealed record UserRecord(string Name, string Role, string Generation, DateTimeOffset CreatedAt);

/// <summary>
/// The cluster's named users, kept as one small document in the store's settings (read-modify-write with
/// compare-and-set, so two admins adding users at once both win). Token checks read a copy at most
/// <see cref="CacheFor"/> old, so removing a user takes effect cluster-wide within that time.
/// </summary>
public sealed class UserDirectory
{
    /// <summary>How long a token check may use a copy of the directory; also how late a removal may take effect on another control plane.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    /// <summary>Most users a cluster holds (the directory is one document).</summary>
    public const int MaxUsers = 1_000;

    private const string Key = "users";
    private readonly IClusterStore _store;
    private readonly TimeProvider _time;
    // A reference swapped whole, so a token check never reads a half-written copy.
    private volatile CachedUsers? _cache;

    private sealed record CachedUsers(Dictionary<string, UserRecord> Users, long ReadAt);

    public UserDirectory(IClusterStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    /// <summary>Every user, by name.</summary>
    public async Task<IReadOnlyList<UserRecord>> ListAsync(CancellationToken ct) =>
        [.. Parse(await _store.GetSettingAsync(Key, ct)).Values.OrderBy(u => u.Name, StringComparer.Ordinal)];

    /// <summary>The user as of at most <see cref="CacheFor"/> ago, or null.</summary>
    public async Task<UserRecord?> FindAsync(string name, CancellationToken ct)
    {
        var cache = _cache;
        if (cache is null || _time.GetElapsedTime(cache.ReadAt) >= CacheFor)
        {
            cache = new CachedUsers(Parse(await _store.GetSettingAsync(Key, ct)), _time.GetTimestamp());
            _cache = cache;
        }
        return cache.Users.GetValueOrDefault(name);
    }

    /// <summary>Adds a user; an error (and a status) when the input is bad or the name is taken.</summary>
    public Task<(UserRecord? User, int Status, string? Error)> AddAsync(string? name, string? role, CancellationToken ct)
    {
        if (!TokenService.IsUserName(name))
            return Task.FromResult<(UserRecord?, int, string?)>((null, 400,
                $"\"{Shorten(name)}\" is not a user name: 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter"));
        if (!TokenRoles.IsUserRole(role))
            return Task.FromResult<(UserRecord?, int, string?)>((null, 400,
                $"\"{Shorten(role)}\" is not a role; use {TokenRoles.Admin}, {TokenRoles.Operator} or {TokenRoles.Viewer}"));
        var user = new UserRecord(name!, role!, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), _time.GetUtcNow());
        return ChangeAsync(users =>
        {
            if (users.ContainsKey(user.Name)) return (409, $"a user named \"{user.Name}\" exists; remove it first or pick another name");
            if (users.Count >= MaxUsers) return (409, $"the cluster holds at most {MaxUsers} users; remove some first");
            users[user.Name] = user;
            return (201, null);
        }, user, ct);
    }

    /// <summary>Removes a user: every token issued for it stops working within <see cref="CacheFor"/>.</summary>
    public Task<(UserRecord? User, int Status, string? Error)> RemoveAsync(string name, CancellationToken ct) =>
        ChangeAsync(users => users.Remove(name) ? (204, null) : (404, $"no user named \"{Shorten(name)}\"; `vcluster user list` shows them"), null, ct);

    private async Task<(UserRecord?, int, string?)> ChangeAsync(Func<Dictionary<string, UserRecord>, (int Status, string? Error)> change, UserRecord? result, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var raw = await _store.GetSettingAsync(Key, ct);
            var users = Parse(raw);
            var (status, error) = change(users);
            if (error is not null) return (null, status, error);
            var next = JsonSerializer.Serialize(users.Values.ToArray(), VirtualClusterJson.Options);
            if (await _store.ReplaceSettingAsync(Key, raw, next, ct))
            {
                _cache = null;
                return (result, status, null);
            }
        }
        return (null, 503, "the user directory changed under too many concurrent writes; try again");
    }

    private static Dictionary<string, UserRecord> Parse(string? raw) =>
        raw is null ? new(StringComparer.Ordinal)
            : (JsonSerializer.Deserialize<UserRecord[]>(raw, VirtualClusterJson.Options) ?? []).ToDictionary(u => u.Name, StringComparer.Ordinal);

    private static string Shorten(string? text) => text is null ? "" : text.Length <= 64 ? text : text[..64] + "...";

    /// <summary>The API's view of a user (no generation).</summary>
    public static UserView ToView(UserRecord user) => new(user.Name, user.Role, user.CreatedAt);
}
