using VirtualCluster.Membership;

namespace VirtualCluster.Conformance.Tests;

// Membership: register, renew, update, leave, fail.
public abstract partial class ProviderConformanceTests
{
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(20);

    private static MemberInfo Member(string id, string address = "10.0.0.1", string zone = "a") =>
        new(id, "name-" + id, address, new Resources(2000, 4L << 30, 0), new Dictionary<string, string> { ["zone"] = zone, ["role"] = "agent" });

    private static string Describe(MembershipChange c) => $"{c.Kind} {c.Member.NodeId} {c.Member.Address}";

    [Fact]
    public async Task Membership_lists_registered_members_with_their_details_once_each()
    {
        await Membership.RegisterAsync(Member("node-b"), LeaseTtl * 10);
        var a = await Membership.RegisterAsync(Member("node-a"), LeaseTtl * 10);
        await Membership.RegisterAsync(Member("node-a", "10.0.0.2", "b"), LeaseTtl * 10);

        var view = await Membership.ListAsync();

        Assert.Equal(["node-a", "node-b"], view.Members.Select(m => m.NodeId));
        var listed = view.Members[0];
        Assert.Equal(("name-node-a", "10.0.0.2", new Resources(2000, 4L << 30, 0)), (listed.Name, listed.Address, listed.Capacity));
        Assert.Equal("b", listed.Metadata["zone"]);
        Assert.Equal("agent", listed.Metadata["role"]);
        Assert.True(a.Ttl >= LeaseTtl * 10 - TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task Membership_watch_reports_current_members_then_joins_updates_and_leaves()
    {
        var existing = await Membership.RegisterAsync(Member("m-1"), LeaseTtl * 10);
        await using var watch = new WatchRecorder<MembershipChange>(ct => Membership.WatchAsync(ct));
        await watch.WaitForCountAsync(1, MembershipTimeout);

        var joined = await Membership.RegisterAsync(Member("m-2"), LeaseTtl * 10);
        await watch.WaitForCountAsync(2, MembershipTimeout);
        await Membership.RegisterAsync(Member("m-2", "10.9.9.9"), LeaseTtl * 10);
        await watch.WaitForCountAsync(3, MembershipTimeout);
        await Membership.DeregisterAsync(existing);

        var changes = await watch.WaitForCountAsync(4, MembershipTimeout);
        Assert.Equal(["Joined m-1 10.0.0.1", "Joined m-2 10.0.0.1", "Updated m-2 10.9.9.9", "Left m-1 10.0.0.1"], changes.Select(Describe));
        Assert.Equal(["m-2"], (await Membership.ListAsync()).Members.Select(m => m.NodeId));
        Assert.False(await Membership.RenewAsync(existing));
        Assert.NotNull(joined);
    }

    [Fact]
    public async Task Membership_member_that_stops_renewing_is_removed_and_reported_failed()
    {
        await using var watch = new WatchRecorder<MembershipChange>(ct => Membership.WatchAsync(ct));
        // The live member gets a longer TTL so a busy machine's late renewal does not fail it.
        var renewed = await Membership.RegisterAsync(Member("alive"), LeaseTtl * 3);
        var silent = await Membership.RegisterAsync(Member("crashed"), LeaseTtl);
        await watch.WaitForCountAsync(2, MembershipTimeout);

        var deadline = DateTime.UtcNow + ExpiryDeadline;
        while (DateTime.UtcNow < deadline && !watch.Items.Any(c => c.Kind == MembershipChangeKind.Failed))
        {
            Assert.True(await Membership.RenewAsync(renewed), "renewing a live registration failed");
            await Task.Delay(LeaseTtl / 4);
        }

        var failed = Assert.Single(watch.Items, c => c.Kind == MembershipChangeKind.Failed);
        Assert.Equal("crashed", failed.Member.NodeId);
        Assert.Equal(["alive"], (await Membership.ListAsync()).Members.Select(m => m.NodeId));
        Assert.False(await Membership.RenewAsync(silent));
        Assert.True(await Membership.RenewAsync(renewed));

        // Coming back means registering again, which is a new join.
        await Membership.RegisterAsync(Member("crashed"), LeaseTtl * 10);
        await watch.WaitUntilAsync(items => items[^1] is { Kind: MembershipChangeKind.Joined, Member.NodeId: "crashed" }, MembershipTimeout, "the crashed member to join again");
        await Membership.DeregisterAsync(renewed);
    }
}
