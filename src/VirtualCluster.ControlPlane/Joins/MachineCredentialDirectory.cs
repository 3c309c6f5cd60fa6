using System.Security.Cryptography;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Joins;

/// <summary>A node's machine credential: its current generation, and when it was revoked (the node was removed).</summary>
public sealed record MachineCredentialRecord(string NodeId, string Name, string Generation, DateTimeOffset? RevokedAt);

/// <summary>
/// The machine credentials of the cluster's nodes, kept as one document in the store's settings (compare-and-set
/// writes). Each join gives the node a new generation, written into its machine token; a token is accepted only with
/// its node's current generation, and never once the node was removed. Checks read a copy at most
/// <see cref="CacheFor"/> old, so a removal takes effect on every control plane within that time; when the store does
/// not answer, the last copy read keeps serving (heartbeats must not fail because of a store blip).
/// </summary>
public sealed class MachineCredentialDirectory : ITokenRevocationCheck
{
    /// <summary>How old a copy a token check may use; also how late a removal may take effect on another control plane.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    private const string Key = "machine-credentials";
    private readonly IClusterStore _store;
    private readonly TimeProvider _time;
    private volatile Cached? _cache;

    private sealed record Cached(Dictionary<string, MachineCredentialRecord> Machines, long ReadAt);

    public MachineCredentialDirectory(IClusterStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    /// <summary>
    /// Why a machine named <paramref name="name"/> may not join with a join token made at <paramref name="joinTokenCreatedAt"/>:
    /// it was removed after that token was made. Null when it may join.
    /// </summary>
    public async Task<string?> JoinRefusalAsync(string name, DateTimeOffset joinTokenCreatedAt, CancellationToken ct)
    {
        var machines = Parse(await _store.GetSettingAsync(Key, ct));
        // A join token made after the removal is the admin's way of letting the machine back in.
        return machines.Values.FirstOrDefault(m => m.Name == name && m.RevokedAt is { } revoked && joinTokenCreatedAt <= revoked) is { } removed
            ? $"node {name} was removed by an admin at {removed.RevokedAt:yyyy-MM-dd HH:mm:ss} UTC; to let it join again, give it a join token made since (`vcluster token create --join --uses 1`)"
            : null;
    }

    /// <summary>A new generation for the node: its earlier machine tokens stop working. Null when the store kept changing under the write.</summary>
    public async Task<string?> RenewAsync(string nodeId, string name, CancellationToken ct)
    {
        var generation = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        return await ChangeAsync(machines =>
        {
            machines[nodeId] = new MachineCredentialRecord(nodeId, name, generation, null);
            return true;
        }, ct) ? generation : null;
    }

    /// <summary>Revokes the node's credential: its machine tokens are refused within <see cref="CacheFor"/> everywhere.</summary>
    public Task<bool> RevokeAsync(string nodeId, string name, CancellationToken ct) =>
        ChangeAsync(machines =>
        {
            machines[nodeId] = new MachineCredentialRecord(nodeId, name, "revoked-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), _time.GetUtcNow());
            return true;
        }, ct);

    /// <inheritdoc />
    public async ValueTask<string?> CheckAsync(TokenPrincipal principal)
    {
        if (principal.Role != TokenRoles.Machine) return null;
        var machines = await ReadAsync().ConfigureAwait(false);
        // A node with no record joined before credentials were recorded: its token stands until it is removed or joins again.
        if (!machines.TryGetValue(principal.Subject, out var record)) return null;
        if (record.RevokedAt is { } revoked) return $"node {record.Name} was removed at {revoked:yyyy-MM-dd HH:mm:ss} UTC and its machine credential revoked";
        return record.Generation == principal.MachineGeneration ? null : $"this machine token of node {record.Name} was replaced when the node joined again";
    }

    private async Task<Dictionary<string, MachineCredentialRecord>> ReadAsync()
    {
        var cache = _cache;
        if (cache is not null && _time.GetElapsedTime(cache.ReadAt) < CacheFor) return cache.Machines;
        try
        {
            cache = new Cached(Parse(await _store.GetSettingAsync(Key).ConfigureAwait(false)), _time.GetTimestamp());
        }
        catch (Exception) when (cache is not null)
        {
            return cache.Machines; // stale on error: the last copy read
        }
        _cache = cache;
        return cache.Machines;
    }

    private async Task<bool> ChangeAsync(Func<Dictionary<string, MachineCredentialRecord>, bool> change, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var raw = await _store.GetSettingAsync(Key, ct);
            var machines = Parse(raw);
            if (!change(machines)) return false;
            var next = JsonSerializer.Serialize(machines.Values.OrderBy(m => m.NodeId, StringComparer.Ordinal).ToArray(), VirtualClusterJson.Options);
            if (await _store.ReplaceSettingAsync(Key, raw, next, ct))
            {
                _cache = null;
                return true;
            }
        }
        return false;
    }

    private static Dictionary<string, MachineCredentialRecord> Parse(string? raw) =>
        raw is null ? new(StringComparer.Ordinal)
            : (JsonSerializer.Deserialize<MachineCredentialRecord[]>(raw, VirtualClusterJson.Options) ?? []).ToDictionary(m => m.NodeId, StringComparer.Ordinal);
}
