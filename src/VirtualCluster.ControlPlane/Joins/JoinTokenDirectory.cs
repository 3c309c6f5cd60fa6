using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Joins;

/// <summary>
/// A join token the cluster knows, by its <c>jti</c>. The token itself is never stored, only what limits it.
/// </summary>
/// <param name="Id">The token's <c>jti</c>.</param>
/// <param name="UsesAllowed">How many joins it may admit; null for no limit.</param>
/// <param name="Used">Joins admitted so far.</param>
/// <param name="ExpiresAt">When it stops working (also inside the signed token); null for never.</param>
/// <param name="Bootstrap">The token the control plane made on first start (the join.token file).</param>
public sealed record JoinTokenRecord(string Id, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, int? UsesAllowed, int Used,
    bool Revoked, string? Description, bool Bootstrap = false);

/// <summary>
/// The join tokens of the cluster, kept as one small document in the store's settings (read-modify-write with
/// compare-and-set, so two agents racing for the last use of a token cannot both get it). A join token is admitted
/// only if it is listed here, not revoked and not used up; its expiry is checked with its signature.
/// </summary>
public sealed class JoinTokenDirectory
{
    /// <summary>Most join tokens listed at once; expired ones are dropped a day after they expire.</summary>
    public const int MaxTokens = 1_000;

    /// <summary>Most joins one token may be limited to (a bigger number is as good as no limit).</summary>
    public const int MaxUses = 100_000;

    private const string Key = "join-tokens";
    private static readonly TimeSpan KeepExpiredFor = TimeSpan.FromDays(1);
    private readonly IClusterStore _store;
    private readonly TimeProvider _time;

    public JoinTokenDirectory(IClusterStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    /// <summary>Every listed token, newest first.</summary>
    public async Task<IReadOnlyList<JoinTokenRecord>> ListAsync(CancellationToken ct) =>
        [.. Parse(await _store.GetSettingAsync(Key, ct)).Values.OrderByDescending(t => t.CreatedAt).ThenBy(t => t.Id, StringComparer.Ordinal)];

    /// <summary>The listed token with this id, or null.</summary>
    public async Task<JoinTokenRecord?> FindAsync(string? id, CancellationToken ct) =>
        id is null ? null : Parse(await _store.GetSettingAsync(Key, ct)).GetValueOrDefault(id);

    /// <summary>Lists a newly issued token.</summary>
    public Task<(JoinTokenRecord? Token, int Status, string? Error)> AddAsync(JoinTokenRecord record, CancellationToken ct) =>
        ChangeAsync(tokens =>
        {
            if (tokens.ContainsKey(record.Id)) return (409, $"a join token with id {record.Id} is listed already");
            if (tokens.Count >= MaxTokens) return (409, $"the cluster lists at most {MaxTokens} join tokens; revoke some with `vcluster token revoke <id>`");
            tokens[record.Id] = record;
            return (201, null);
        }, record, ct);

    /// <summary>Lists the bootstrap token if it is not listed yet (first start, or a cluster made before join tokens were listed).</summary>
    public async Task EnsureBootstrapAsync(string id, CancellationToken ct)
    {
        if (Parse(await _store.GetSettingAsync(Key, ct)).ContainsKey(id)) return;
        var record = new JoinTokenRecord(id, _time.GetUtcNow(), null, null, 0, false, "bootstrap (the join.token file)", Bootstrap: true);
        // 409 means another control plane listed it first; either way it is listed.
        await AddAsync(record, ct);
    }

    /// <summary>Revokes a token: joins with it are refused from now on. Machines that joined with it stay.</summary>
    public Task<(JoinTokenRecord? Token, int Status, string? Error)> RevokeAsync(string id, CancellationToken ct)
    {
        JoinTokenRecord? revoked = null;
        return ChangeAsync(tokens =>
        {
            if (!tokens.TryGetValue(id, out var token)) return (404, $"no join token with id \"{Shorten(id)}\"; `vcluster token list` shows them");
            tokens[id] = revoked = token with { Revoked = true };
            return (200, null);
        }, () => revoked, ct);
    }

    /// <summary>
    /// Takes one use of the token for a join: refused when the token is not listed, revoked or used up. Give the use
    /// back with <see cref="ReleaseAsync"/> when the join then fails for another reason.
    /// </summary>
    public async Task<string?> TakeUseAsync(string? id, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(id)) return "this join token has no id; issue a new one with `vcluster token create --join`";
        var (_, _, error) = await ChangeAsync(tokens =>
        {
            if (!tokens.TryGetValue(id, out var token)) return (401, "this join token is not known to the cluster (it was never listed, or it expired more than a day ago)");
            if (token.Revoked) return (401, "this join token was revoked");
            if (token.UsesAllowed is { } allowed && token.Used >= allowed)
                return (401, allowed == 1 ? "this single-use join token was used already" : $"this join token was used for all of its {allowed} joins");
            tokens[id] = token with { Used = token.Used + 1 };
            return (200, null);
        }, (JoinTokenRecord?)null, ct);
        return error;
    }

    /// <summary>Gives back a use taken by <see cref="TakeUseAsync"/> for a join that did not happen.</summary>
    public async Task ReleaseAsync(string id, CancellationToken ct) =>
        await ChangeAsync(tokens =>
        {
            if (tokens.TryGetValue(id, out var token) && token.Used > 0) tokens[id] = token with { Used = token.Used - 1 };
            return (200, null);
        }, (JoinTokenRecord?)null, ct);

    /// <summary>The API's view of a listed token.</summary>
    public static JoinTokenView ToView(JoinTokenRecord t) => new(t.Id, t.CreatedAt, t.ExpiresAt, t.UsesAllowed, t.Used, t.Revoked, t.Description, t.Bootstrap);

    private Task<(JoinTokenRecord?, int, string?)> ChangeAsync(Func<Dictionary<string, JoinTokenRecord>, (int Status, string? Error)> change,
        JoinTokenRecord? result, CancellationToken ct) => ChangeAsync(change, () => result, ct);

    private async Task<(JoinTokenRecord?, int, string?)> ChangeAsync(Func<Dictionary<string, JoinTokenRecord>, (int Status, string? Error)> change,
        Func<JoinTokenRecord?> result, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var raw = await _store.GetSettingAsync(Key, ct);
            var tokens = Parse(raw);
            var (status, error) = change(tokens);
            if (error is not null) return (null, status, error);
            DropLongExpired(tokens);
            var next = JsonSerializer.Serialize(tokens.Values.OrderBy(t => t.Id, StringComparer.Ordinal).ToArray(), VirtualClusterJson.Options);
            if (await _store.ReplaceSettingAsync(Key, raw, next, ct)) return (result(), status, null);
        }
        return (null, 503, "the join token list changed under too many concurrent writes; try again");
    }

    private void DropLongExpired(Dictionary<string, JoinTokenRecord> tokens)
    {
        var now = _time.GetUtcNow();
        foreach (var (id, token) in tokens.ToList())
            if (token.ExpiresAt is { } expires && now - expires > KeepExpiredFor) tokens.Remove(id);
    }

    private static Dictionary<string, JoinTokenRecord> Parse(string? raw) =>
        raw is null ? new(StringComparer.Ordinal)
            : (JsonSerializer.Deserialize<JoinTokenRecord[]>(raw, VirtualClusterJson.Options) ?? []).ToDictionary(t => t.Id, StringComparer.Ordinal);

    private static string Shorten(string? text) => text is null ? "" : text.Length <= 64 ? text : text[..64] + "...";
}
