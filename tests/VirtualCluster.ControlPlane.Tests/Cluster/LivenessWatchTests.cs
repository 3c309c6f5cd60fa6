using VirtualCluster.ControlPlane.Cluster;

namespace VirtualCluster.ControlPlane.Tests.Cluster;

/// <summary>The set of nodes a reconcile pass must read: touched, unbounded, and those whose deadline has passed.</summary>
public sealed class LivenessWatchTests
{
    [Fact]
    public void A_node_with_a_deadline_is_due_only_once_it_passes_or_it_is_touched()
    {
        var watch = new LivenessWatch();
        watch.Seen("a", 100);
        watch.Seen("b", 200);
        Assert.Empty(watch.TakeDue(99));
        Assert.Equal(["a"], watch.TakeDue(100)); // positive control: a passed deadline is due
        Assert.Empty(watch.TakeDue(150)); // taken: due again only after the next look reports it
        watch.Touch("b");
        Assert.Equal(["b"], watch.TakeDue(150));
        Assert.Empty(watch.TakeDue(150));
    }

    [Fact]
    public void A_replaced_deadline_drops_the_old_one_and_unbounded_nodes_are_due_every_time()
    {
        var watch = new LivenessWatch();
        watch.Seen("a", 100);
        watch.Seen("a", 300); // a heartbeat pushed it later
        Assert.Empty(watch.TakeDue(200)); // the stale entry at 100 is dropped, not reported
        watch.Seen("down", null);
        Assert.Equal(["down"], watch.TakeDue(200));
        Assert.Equal(["down"], watch.TakeDue(201));
        Assert.Equal((1, 1), watch.Counts);
        watch.Seen("down", 500); // back and Alive: bounded again
        Assert.Empty(watch.TakeDue(250));
        Assert.Equal(["a"], watch.TakeDue(300));
        watch.Forget("down");
        Assert.Empty(watch.TakeDue(1_000));
    }

    [Fact]
    public void A_check_rearms_nodes_still_as_seen_and_touches_those_that_changed()
    {
        var watch = new LivenessWatch();
        watch.Seen("calm", 100);
        watch.Seen("late", 100);
        watch.Seen("down", null);
        var changed = watch.CheckExpired(150, id => id == "calm" ? (true, 400L) : (false, null), out var unbounded);
        Assert.True(changed); // positive control: "late" changed
        Assert.Equal(["down"], unbounded);
        var due = watch.TakeDue(150);
        Assert.Contains("late", due); // touched for the next pass
        Assert.DoesNotContain("calm", due); // re-armed at 400
        Assert.Contains("down", due);
        Assert.False(watch.CheckExpired(399, _ => (false, null), out _)); // nothing expired before 400
        Assert.Equal(["calm", "down"], watch.TakeDue(400).Order(StringComparer.Ordinal)); // "down" is due every time
    }
}
