namespace VirtualCluster.Membership;

/// <summary>What a member announces about itself.</summary>
/// <param name="NodeId">Unique id of the member; registering the same id again replaces the earlier registration.</param>
/// <param name="Name">Human name.</param>
/// <param name="Address">Where the member is reached (a URL for control planes, a host or IP for agents).</param>
/// <param name="Capacity">Resources the member offers (zero for members that run no workloads).</param>
/// <param name="Metadata">Free-form key/value pairs (role, version, zone...).</param>
public sealed record MemberInfo(string NodeId, string Name, string Address, Resources Capacity, IReadOnlyDictionary<string, string> Metadata);

/// <summary>A live registration, returned by <see cref="IMembership.RegisterAsync"/> and passed back to renew or leave.</summary>
/// <param name="Member">What was registered.</param>
/// <param name="LeaseId">Provider handle of the registration's time to live (a store lease, a Consul check id).</param>
/// <param name="Ttl">Time to live the provider granted; renew well within it (a third is customary).</param>
public sealed record MemberRegistration(MemberInfo Member, string LeaseId, TimeSpan Ttl);

/// <summary>Kind of a membership change.</summary>
public enum MembershipChangeKind
{
    /// <summary>A member registered (or a watch starts and reports a member that is already there).</summary>
    Joined,
    /// <summary>A registered member registered again with different details.</summary>
    Updated,
    /// <summary>A member deregistered gracefully.</summary>
    Left,
    /// <summary>A member's registration expired: it stopped renewing (crashed, cut off).</summary>
    Failed,
}

/// <summary>A change seen by <see cref="IMembership.WatchAsync"/>.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Member">The member as last registered.</param>
/// <param name="Revision">Store revision (or Consul index) of the change; increases along one watch.</param>
public sealed record MembershipChange(MembershipChangeKind Kind, MemberInfo Member, long Revision);

/// <summary>The live members and the revision at which they were read.</summary>
public sealed record MembershipView(IReadOnlyList<MemberInfo> Members, long Revision);

/// <summary>
/// Who is in the cluster: members register themselves with a time to live and renew it; a member that stops
/// renewing is removed and reported <see cref="MembershipChangeKind.Failed"/>.
/// </summary>
/// <remarks>
/// <para>Registering is atomic: a member is listed with all its details or not at all. A member is listed from
/// the moment <see cref="RegisterAsync"/> returns until <see cref="DeregisterAsync"/> returns or its time to live
/// passes without a successful <see cref="RenewAsync"/>. A member is never listed twice.</para>
/// <para>Renewing a registration that already expired fails (returns false) rather than bringing the member back
/// silently: the caller must register again, which watchers then see as a new join.</para>
/// <para>Operations throw <see cref="Store.KeyValueStoreUnavailableException"/> when the backing server is
/// unreachable. Implementations are safe to use from many threads.</para>
/// </remarks>
public interface IMembership
{
    /// <summary>
    /// Registers <paramref name="member"/> (replacing an earlier registration with the same id) with a time to
    /// live of at least <paramref name="ttl"/> (providers round up to their minimum).
    /// </summary>
    Task<MemberRegistration> RegisterAsync(MemberInfo member, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Restarts the registration's time to live. False when it already expired or was deregistered: register again.</summary>
    Task<bool> RenewAsync(MemberRegistration registration, CancellationToken cancellationToken = default);

    /// <summary>Removes the member now; watchers see <see cref="MembershipChangeKind.Left"/>. No-op when already gone.</summary>
    Task DeregisterAsync(MemberRegistration registration, CancellationToken cancellationToken = default);

    /// <summary>Every live member, ordered by node id.</summary>
    Task<MembershipView> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Membership changes until canceled: first a <see cref="MembershipChangeKind.Joined"/> for each member live
    /// when the watch starts, then every join, update, leave and failure in the order they happened. Providers
    /// reconnect by themselves; a change that happens while they reconnect is delivered afterwards.
    /// </summary>
    IAsyncEnumerable<MembershipChange> WatchAsync(CancellationToken cancellationToken = default);
}
