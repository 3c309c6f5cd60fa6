using System.Runtime.CompilerServices;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Members;

/// <summary>
/// <see cref="IMembership"/> on any <see cref="IKeyValueStore"/>: each member is the key <c>{prefix}{nodeId}</c>
/// holding its details as JSON, tied to its own lease. Renewing keeps the lease alive; when the lease ends the
/// store deletes the key, which watchers report as <see cref="MembershipChangeKind.Failed"/>. Leaving first marks
/// the key as left and then revokes the lease, which watchers report as <see cref="MembershipChangeKind.Left"/>.
/// </summary>
public sealed class KvMembership : IMembership
{
    private readonly IKeyValueStore _store;
    private readonly string _prefix;

    /// <summary>Members on <paramref name="store"/>, their keys under <paramref name="prefix"/>.</summary>
    public KvMembership(IKeyValueStore store, string prefix = "members/")
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        _store = store;
        _prefix = prefix;
    }

    /// <inheritdoc />
    public async Task<MemberRegistration> RegisterAsync(MemberInfo member, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        Validate(member);
        var lease = await _store.GrantLeaseAsync(ttl, cancellationToken).ConfigureAwait(false);
        try
        {
            await _store.PutAsync(_prefix + member.NodeId, Serialize(new StoredMember(member, false)), lease.Id, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await RevokeQuietlyAsync(lease.Id).ConfigureAwait(false);
            throw;
        }
        return new MemberRegistration(member, lease.Id, lease.Ttl);
    }

    /// <inheritdoc />
    public async Task<bool> RenewAsync(MemberRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (!await _store.KeepAliveAsync(registration.LeaseId, cancellationToken).ConfigureAwait(false)) return false;
        // Someone may have registered the same id again (another lease) or this member left: then this registration is over.
        var entry = await _store.GetAsync(_prefix + registration.Member.NodeId, cancellationToken).ConfigureAwait(false);
        return entry is not null && entry.LeaseId == registration.LeaseId && !Deserialize(entry.Value).Left;
    }

    /// <inheritdoc />
    public async Task DeregisterAsync(MemberRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var key = _prefix + registration.Member.NodeId;
        var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (entry is not null && entry.LeaseId == registration.LeaseId)
        {
            try
            {
                // Mark first, so watchers can tell leaving from failing when the key disappears.
                await _store.TransactAsync([KvCondition.Unchanged(key, entry)],
                    [KvOperation.Put(key, Serialize(new StoredMember(registration.Member, true)), registration.LeaseId)], cancellationToken).ConfigureAwait(false);
            }
            catch (KvLeaseNotFoundException)
            {
                return; // Already expired: the key is gone.
            }
        }
        await _store.RevokeLeaseAsync(registration.LeaseId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<MembershipView> ListAsync(CancellationToken cancellationToken = default)
    {
        var page = await _store.ListAsync(_prefix, cancellationToken).ConfigureAwait(false);
        var members = page.Entries.Select(e => Deserialize(e.Value)).Where(m => !m.Left).Select(m => m.Member)
            .OrderBy(m => m.NodeId, StringComparer.Ordinal).ToList();
        return new MembershipView(members, page.Revision);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<MembershipChange> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var known = new Dictionary<string, StoredMember>(StringComparer.Ordinal);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await _store.ListAsync(_prefix, cancellationToken).ConfigureAwait(false);
            // First pass: every live member joins. After a compaction: report the difference to what we knew.
            var now = page.Entries.ToDictionary(e => e.Key, e => Deserialize(e.Value), StringComparer.Ordinal);
            foreach (var (key, was) in known.ToList())
            {
                if (now.ContainsKey(key)) continue;
                known.Remove(key);
                if (!was.Left) yield return new MembershipChange(MembershipChangeKind.Failed, was.Member, page.Revision);
            }
            foreach (var (key, member) in now)
            {
                var change = Apply(known, key, member, page.Revision);
                if (change is not null) yield return change;
            }

            await using var changes = new WatchReader(_store.WatchAsync(_prefix, page.Revision, cancellationToken));
            while (await changes.NextAsync().ConfigureAwait(false) is { } e)
            {
                MembershipChange? change;
                if (e.Kind == KvEventKind.Put)
                {
                    change = Apply(known, e.Key, Deserialize(e.Value ?? ""), e.Revision);
                }
                else
                {
                    change = known.Remove(e.Key, out var was)
                        ? new MembershipChange(was.Left ? MembershipChangeKind.Left : MembershipChangeKind.Failed, was.Member, e.Revision)
                        : null;
                }
                if (change is not null) yield return change;
            }
        }
    }

    private static MembershipChange? Apply(Dictionary<string, StoredMember> known, string key, StoredMember member, long revision)
    {
        known.TryGetValue(key, out var was);
        known[key] = member;
        if (member.Left) return null; // Reported when the key is deleted.
        if (was is null || was.Left) return new MembershipChange(MembershipChangeKind.Joined, member.Member, revision);
        return SameMember(was.Member, member.Member) ? null : new MembershipChange(MembershipChangeKind.Updated, member.Member, revision);
    }

    /// <summary>True when two registrations carry the same details (metadata compared as a set).</summary>
    public static bool SameMember(MemberInfo a, MemberInfo b) =>
        a.NodeId == b.NodeId && a.Name == b.Name && a.Address == b.Address && a.Capacity == b.Capacity
        && a.Metadata.Count == b.Metadata.Count && a.Metadata.All(kv => b.Metadata.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private async Task RevokeQuietlyAsync(string leaseId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _store.RevokeLeaseAsync(leaseId, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KeyValueStoreUnavailableException or OperationCanceledException)
        {
            // It expires by itself.
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> for a member without id, name, address or metadata, or with '/' in its id.</summary>
    public static void Validate(MemberInfo member)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentException.ThrowIfNullOrWhiteSpace(member.NodeId);
        if (member.NodeId.Contains('/', StringComparison.Ordinal))
            throw new ArgumentException($"Node id \"{member.NodeId}\" must not contain '/'.", nameof(member));
        ArgumentNullException.ThrowIfNull(member.Name);
        ArgumentNullException.ThrowIfNull(member.Address);
        ArgumentNullException.ThrowIfNull(member.Metadata);
    }

    private static string Serialize(StoredMember member) => JsonSerializer.Serialize(member, VirtualClusterJson.Options);

    private static StoredMember Deserialize(string json) =>
        JsonSerializer.Deserialize<StoredMember>(json, VirtualClusterJson.Options) ?? throw new InvalidDataException("A stored member is empty.");

    private sealed record StoredMember(MemberInfo Member, bool Left);
}
