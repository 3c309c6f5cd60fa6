using System.Text;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Stun;

namespace VirtualCluster.P2P.Tests.Ice;

/// <summary>The agent's state machine on virtual time over an in-memory network.</summary>
public sealed class IceAgentTests
{
    private static readonly TimeSpan Virtual = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Host_candidates_connect_nominate_and_carry_data_both_ways()
    {
        await using var h = new AgentHarness();
        await h.ExchangeAsync();
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Connected && h.B.State == IceConnectionState.Connected, Virtual));
        var pair = h.A.SelectedPair!;
        Assert.True(pair.Nominated);
        Assert.Equal(IceCandidateType.Host, pair.ValidLocal.Type);
        Assert.Equal(IceCandidateType.Host, pair.Remote.Type);
        Assert.Equal(h.A.SelectedPair!.Local.EndPoint, h.B.SelectedPair!.Remote.EndPoint);

        var atA = new List<string>();
        var atB = new List<string>();
        h.A.DataReceived = d => { lock (atA) atA.Add(Encoding.UTF8.GetString(d)); };
        h.B.DataReceived = d => { lock (atB) atB.Add(Encoding.UTF8.GetString(d)); };
        h.A.Send("ping"u8);
        h.B.Send("pong"u8);
        Assert.True(await h.PumpUntilAsync(() => atA.Count == 1 && atB.Count == 1, TimeSpan.FromSeconds(1)));
        Assert.Equal(["pong"], atA);
        Assert.Equal(["ping"], atB);
        Assert.Throws<ArgumentException>(() => h.A.Send([0x00, 1, 2]));
        Assert.Throws<ArgumentException>(() => h.A.Send([0x40, 1, 2]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task Checks_go_out_at_once_up_to_the_burst_then_are_paced_by_Ta(int burst)
    {
        await using var h = new AgentHarness(configure: o =>
        {
            o.CheckPacing = TimeSpan.FromMilliseconds(50);
            o.CheckBurst = burst;
        });
        await h.A.GatherAsync();
        h.A.SetRemoteParameters(h.B.LocalParameters);
        var times = new List<TimeSpan>();
        var start = h.Time.GetUtcNow();
        void Note()
        {
            while (times.Count < h.Network.Sent.Count) times.Add(h.Time.GetUtcNow() - start);
        }
        for (var i = 0; i < 6; i++)
        {
            // trickled one by one: each is checked the moment it arrives while the burst lasts
            h.A.AddRemoteCandidate(new IceCandidate($"{i + 1}", 1, IcePriority.Candidate(IceCandidateType.Host, (ushort)(1000 - i), 1),
                new System.Net.IPEndPoint(System.Net.IPAddress.Parse($"203.0.113.{i + 50}"), 9), IceCandidateType.Host));
            Note();
        }
        for (var step = 0; step < 80; step++) // 400 ms, before any retransmission (RTO 500 ms)
        {
            h.Time.Advance(TimeSpan.FromMilliseconds(5));
            Note();
        }
        var shown = string.Join(", ", times.Select(t => t.TotalMilliseconds));
        Assert.Equal(6, times.Count);
        for (var i = 0; i < burst; i++) Assert.True(times[i] == TimeSpan.Zero, $"check {i} is within the burst of {burst} but went out at {shown} ms");
        for (var i = burst; i < times.Count; i++)
            Assert.True(times[i] - times[i - 1] >= TimeSpan.FromMilliseconds(50) || (i == burst && times[i] >= TimeSpan.FromMilliseconds(50)),
                $"check {i} came less than Ta after the one before: {shown} ms");
        Assert.True(times[^1] >= TimeSpan.FromMilliseconds(50 * (6 - burst)), $"6 checks with a burst of {burst} take at least {50 * (6 - burst)} ms: {shown}");
        Assert.Equal("203.0.113.50", h.Network.Sent.First().To.Address.ToString());
    }

    [Fact]
    public async Task An_unsignaled_peer_is_learned_as_peer_reflexive_and_selected()
    {
        await using var h = new AgentHarness();
        await h.ExchangeAsync(signalA: true, signalB: false); // A never hears of B's candidates
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Connected && h.B.State == IceConnectionState.Connected, Virtual));
        Assert.Equal(IceCandidateType.PeerReflexive, h.A.SelectedPair!.Remote.Type);
        Assert.Contains(h.A.RemoteCandidates, c => c.Type == IceCandidateType.PeerReflexive);
    }

    [Theory]
    [InlineData(IceRole.Controlling)]
    [InlineData(IceRole.Controlled)]
    public async Task A_role_conflict_is_resolved_by_the_tie_breaker(IceRole both)
    {
        await using var h = new AgentHarness(both, both);
        h.A.TieBreaker = 1000;
        h.B.TieBreaker = 5;
        await h.ExchangeAsync();
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Connected && h.B.State == IceConnectionState.Connected, Virtual));
        Assert.Equal(IceRole.Controlling, h.A.Role); // the larger tie-breaker controls (RFC 8445 §7.3.1.1)
        Assert.Equal(IceRole.Controlled, h.B.Role);
        var role487 = h.Network.Sent.Count(s => StunMessage.TryParse(s.Data, out var m) && m.Class == StunClass.ErrorResponse
            && m.TryGetError(out var code, out _) && code == 487);
        if (both == IceRole.Controlling) Assert.True(role487 >= 1, "expected a 487 Role Conflict response");
    }

    [Fact]
    public async Task Consent_is_refreshed_while_the_peer_answers_and_expires_when_it_stops()
    {
        await using var h = new AgentHarness();
        await h.ExchangeAsync();
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Connected && h.B.State == IceConnectionState.Connected, Virtual));
        var sentBefore = h.Network.Sent.Count(s => s.From.Address.Equals(AgentHarness.AddressA) && IsRequest(s.Data));
        await h.PumpAsync(TimeSpan.FromSeconds(40), stepMilliseconds: 50);
        Assert.Equal(IceConnectionState.Connected, h.A.State);
        var consentChecks = h.Network.Sent.Count(s => s.From.Address.Equals(AgentHarness.AddressA) && IsRequest(s.Data)) - sentBefore;
        Assert.InRange(consentChecks, 6, 11); // every 5 s ± 20% (RFC 7675)

        h.Network.Filter = (_, _) => false; // the peer goes silent
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Failed, TimeSpan.FromSeconds(40), stepMilliseconds: 50));
        Assert.Throws<InvalidOperationException>(() => h.A.Send("x"u8));
    }

    [Fact]
    public async Task The_agent_fails_when_every_pair_fails()
    {
        await using var h = new AgentHarness();
        h.Network.Filter = (_, to) => !to.Address.Equals(AgentHarness.AddressB);
        await h.ExchangeAsync();
        var connect = h.A.ConnectAsync();
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Failed, TimeSpan.FromSeconds(30), stepMilliseconds: 20));
        await Assert.ThrowsAsync<IceConnectionFailedException>(() => connect);
        Assert.All(h.A.Pairs, p => Assert.Equal(IceCandidatePairState.Failed, p.State));
    }

    [Fact]
    public async Task Checks_with_wrong_credentials_get_401_and_are_counted()
    {
        await using var h = new AgentHarness();
        await h.ExchangeAsync();
        var target = h.B.LocalCandidates[0].EndPoint;
        var attacker = h.Network.CreateSocket(System.Net.IPAddress.Parse("203.0.113.66"));
        var replies = new List<byte[]>();
        attacker.Start((d, _) => { lock (replies) replies.Add(d.ToArray()); });
        var forged = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .Add(StunAttributeType.Username, $"{h.B.LocalParameters.Ufrag}:evil")
            .AddUInt32(StunAttributeType.Priority, 1)
            .AddMessageIntegrity(StunCredentials.ShortTermKey("not-the-password-at-all"))
            .AddFingerprintAndBuild();
        attacker.Send(forged, target);
        attacker.Send([0x00, 0x01, 0x02], target); // garbage in the STUN range
        h.Network.DeliverPending();
        Assert.Single(replies);
        Assert.True(StunMessage.TryParse(replies[0], out var reply));
        Assert.True(reply.TryGetError(out var code, out _));
        Assert.Equal(401, code);
        Assert.Equal(2, h.B.DroppedPackets);
        Assert.DoesNotContain(h.B.RemoteCandidates, c => c.EndPoint.Equals(attacker.LocalEndPoint));
    }

    [Fact]
    public async Task Candidates_trickled_after_checks_began_are_used()
    {
        await using var h = new AgentHarness();
        await h.ExchangeAsync(signalA: false, signalB: false); // credentials only, end-of-candidates withheld below
        await h.PumpAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(IceConnectionState.New, h.A.State); // nothing to check yet
        foreach (var c in h.A.LocalCandidates) h.B.AddRemoteCandidate(c); // trickled late
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Connected && h.B.State == IceConnectionState.Connected, Virtual));
        Assert.Equal(IceCandidateType.Host, h.B.SelectedPair!.Remote.Type);
        Assert.Equal(IceCandidateType.PeerReflexive, h.A.SelectedPair!.Remote.Type); // A learned B from B's check
    }

    private static bool IsRequest(byte[] data) => StunMessage.TryParse(data, out var m) && m.Class == StunClass.Request;
}
