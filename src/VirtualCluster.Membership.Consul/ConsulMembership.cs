using System.Globalization;
using System.Runtime.CompilerServices;
using VirtualCluster.Membership.Consul.Client;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Consul;

/// <summary>
/// <see cref="IMembership"/> on Consul's service catalog: each member is an instance of the service
/// <see cref="ConsulMembershipOptions.ServiceName"/> registered with the local agent, with a TTL check that
/// <see cref="RenewAsync"/> passes. A member whose check turns critical (it stopped renewing) is no longer listed
/// and is reported <see cref="MembershipChangeKind.Failed"/>; Consul deregisters it after
/// <see cref="ConsulMembershipOptions.DeregisterCriticalServiceAfter"/>. Watches are blocking queries on
/// /v1/health/service.
/// </summary>
/// <remarks>
/// Details travel in the service's Meta: <c>vc-node-id</c>, <c>vc-name</c>, <c>vc-cpu</c>, <c>vc-memory</c>,
/// <c>vc-disk</c>, and each metadata entry as <c>md-{key}</c> (keys: letters, digits, '-' and '_'; at most 50
/// entries; values up to 512 characters, as Consul requires).
/// </remarks>
public sealed class ConsulMembership : IMembership
{
    private const string MetadataPrefix = "md-";
    private readonly ConsulClient _client;
    private readonly ConsulMembershipOptions _options;

    /// <summary>Membership through <paramref name="client"/>.</summary>
    public ConsulMembership(ConsulClient client, ConsulMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options;
    }

    private string ServiceId(string nodeId) => $"{_options.ServiceName}-{nodeId}";

    /// <inheritdoc />
    /// <remarks>The TTL is rounded up to whole seconds. Registering the same node id again replaces the service instance.</remarks>
    public async Task<MemberRegistration> RegisterAsync(MemberInfo member, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        var meta = Meta(member);
        var granted = TimeSpan.FromSeconds(Math.Ceiling(ttl.TotalSeconds));
        var serviceId = ServiceId(member.NodeId);
        var checkId = serviceId + "-ttl";
        await _client.AgentServiceRegisterAsync(new ConsulServiceRegistration(serviceId, _options.ServiceName, member.Address, meta,
            new ConsulAgentCheck(checkId, $"{member.Name} renews its membership", ConsulClient.Duration(granted),
                ConsulClient.Duration(_options.DeregisterCriticalServiceAfter))), cancellationToken).ConfigureAwait(false);
        return new MemberRegistration(member, checkId, granted);
    }

    /// <inheritdoc />
    /// <remarks>A check that already turned critical is not revived: the member is deregistered and false returned.</remarks>
    public async Task<bool> RenewAsync(MemberRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var checks = await _client.AgentChecksAsync(cancellationToken).ConfigureAwait(false);
        if (!checks.TryGetValue(registration.LeaseId, out var check)) return false;
        if (check.Status == "critical")
        {
            await _client.AgentServiceDeregisterAsync(ServiceId(registration.Member.NodeId), cancellationToken).ConfigureAwait(false);
            return false;
        }
        return await _client.AgentCheckPassAsync(registration.LeaseId, "renewed", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task DeregisterAsync(MemberRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        return _client.AgentServiceDeregisterAsync(ServiceId(registration.Member.NodeId), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<MembershipView> ListAsync(CancellationToken cancellationToken = default)
    {
        var result = await _client.HealthServiceAsync(_options.ServiceName, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new MembershipView(Alive(result.Value).Values.OrderBy(m => m.NodeId, StringComparer.Ordinal).ToList(), result.Index);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<MembershipChange> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var alive = new Dictionary<string, MemberInfo>(StringComparer.Ordinal);
        long index = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ConsulResult<List<ConsulServiceEntry>> result;
            try
            {
                result = await _client.HealthServiceAsync(_options.ServiceName, index > 0 ? index : null, cancellationToken).ConfigureAwait(false);
            }
            catch (KeyValueStoreUnavailableException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                continue;
            }
            var nowAlive = Alive(result.Value);
            var nowPresent = result.Value.Select(e => e.Service.ID).ToHashSet(StringComparer.Ordinal);
            foreach (var (id, was) in alive.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList())
            {
                if (nowAlive.ContainsKey(id)) continue;
                alive.Remove(id);
                // Still registered but critical: it stopped renewing. Gone altogether: it deregistered.
                yield return new MembershipChange(nowPresent.Contains(ServiceId(id)) ? MembershipChangeKind.Failed : MembershipChangeKind.Left, was, result.Index);
            }
            foreach (var (id, member) in nowAlive.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (!alive.TryGetValue(id, out var was))
                    yield return new MembershipChange(MembershipChangeKind.Joined, member, result.Index);
                else if (!Members.KvMembership.SameMember(was, member))
                    yield return new MembershipChange(MembershipChangeKind.Updated, member, result.Index);
                alive[id] = member;
            }
            index = result.Index < index ? 0 : Math.Max(result.Index, 1);
        }
    }

    /// <summary>Members whose checks are all passing (or warning), by node id.</summary>
    private static Dictionary<string, MemberInfo> Alive(IEnumerable<ConsulServiceEntry> entries)
    {
        var members = new Dictionary<string, MemberInfo>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.Checks?.Any(c => c.Status == "critical" && (c.ServiceID == entry.Service.ID || string.IsNullOrEmpty(c.ServiceID))) == true) continue;
            if (Parse(entry.Service) is { } member) members[member.NodeId] = member;
        }
        return members;
    }

    private static MemberInfo? Parse(ConsulServiceEntryService service)
    {
        var meta = service.Meta ?? [];
        if (!meta.TryGetValue("vc-node-id", out var nodeId)) return null;
        var metadata = meta.Where(kv => kv.Key.StartsWith(MetadataPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[MetadataPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        return new MemberInfo(nodeId, meta.GetValueOrDefault("vc-name", nodeId), service.Address ?? "",
            new Resources(Number(meta, "vc-cpu"), Number(meta, "vc-memory"), Number(meta, "vc-disk")), metadata);
    }

    private static long Number(Dictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;

    private static Dictionary<string, string> Meta(MemberInfo member)
    {
        Members.KvMembership.Validate(member);
        if (member.Metadata.Count > 50) throw new ArgumentException("Consul keeps at most 64 meta entries per service: use at most 50 metadata entries.", nameof(member));
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["vc-node-id"] = member.NodeId,
            ["vc-name"] = member.Name,
            ["vc-cpu"] = member.Capacity.CpuMillicores.ToString(CultureInfo.InvariantCulture),
            ["vc-memory"] = member.Capacity.MemoryBytes.ToString(CultureInfo.InvariantCulture),
            ["vc-disk"] = member.Capacity.DiskBytes.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in member.Metadata)
        {
            if (key.Length is 0 or > 120 || key.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_'))
                throw new ArgumentException($"Metadata key \"{key}\" cannot be a Consul meta key: use letters, digits, '-' and '_'.", nameof(member));
            if (value.Length > 512) throw new ArgumentException($"Metadata \"{key}\" is longer than Consul's 512 characters.", nameof(member));
            meta[MetadataPrefix + key] = value;
        }
        return meta;
    }
}
