using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Agent.Fencing;

namespace VirtualCluster.Agent.Tests.Fencing;

public sealed class FencingLeaseTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void The_lease_counts_from_the_send_of_the_last_answered_heartbeat()
    {
        var lease = new FencingLease(_time);
        Assert.False(lease.IsExpired); // unknown until the control plane answers
        var sent = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromSeconds(1)); // the answer took a second
        lease.Renew(sent, TimeSpan.FromSeconds(3));
        _time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.False(lease.IsExpired);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(lease.IsExpired);
        Assert.Equal(TimeSpan.FromSeconds(3), lease.SinceRenewal);
    }

    [Fact]
    public void An_older_answer_never_moves_the_lease_back_and_zero_turns_fencing_off()
    {
        var lease = new FencingLease(_time);
        var early = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromSeconds(1));
        lease.Renew(_time.GetTimestamp(), TimeSpan.FromSeconds(2));
        lease.Renew(early, TimeSpan.FromSeconds(2));
        _time.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.False(lease.IsExpired);
        lease.Renew(_time.GetTimestamp(), TimeSpan.Zero);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.False(lease.IsExpired);
        Assert.False(lease.IsActive);
    }
}
