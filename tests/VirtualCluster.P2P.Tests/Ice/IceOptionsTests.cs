using Microsoft.Extensions.Options;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Turn;

namespace VirtualCluster.P2P.Tests.Ice;

public sealed class IceOptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        _ = new IceAgent(IceRole.Controlling);
    }

    [Fact]
    public void Every_problem_is_reported_with_its_property()
    {
        var options = new IceAgentOptions
        {
            CheckPacing = TimeSpan.Zero,
            ConsentTimeout = TimeSpan.FromSeconds(1),
            MaxPairs = 0,
            TransportPolicy = IceTransportPolicy.Relay,
            Servers = [new IceServer(IceServerKind.Turn, "203.0.113.1")],
        };
        var e = Assert.Throws<OptionsValidationException>(() => new IceAgent(IceRole.Controlling, options));
        Assert.Contains(e.Failures, f => f.Contains("CheckPacing"));
        Assert.Contains(e.Failures, f => f.Contains("ConsentTimeout"));
        Assert.Contains(e.Failures, f => f.Contains("MaxPairs"));
        Assert.Contains(e.Failures, f => f.Contains("needs Username and Password"));
        e = Assert.Throws<OptionsValidationException>(() => new IceAgent(IceRole.Controlling, new IceAgentOptions
        {
            TransportPolicy = IceTransportPolicy.Relay,
            Servers = [new IceServer(IceServerKind.Stun, "203.0.113.1")],
        }));
        Assert.Contains(e.Failures, f => f.Contains("TransportPolicy Relay"));
    }

    [Fact]
    public void Turn_client_options_are_validated()
    {
        var e = Assert.Throws<OptionsValidationException>(() => new TurnClient(null!, new System.Net.IPEndPoint(0, 1), "u", "p",
            new TurnClientOptions { Lifetime = TimeSpan.FromSeconds(30), MaxQueuedPerPeer = -1 }));
        Assert.Equal(2, e.Failures.Count());
    }

    [Fact]
    public void Credentials_have_the_required_lengths()
    {
        var p = IceParameters.Generate();
        Assert.True(p.IsValid);
        Assert.Equal(8, p.Ufrag.Length);
        Assert.Equal(24, p.Password.Length);
        Assert.NotEqual(p, IceParameters.Generate());
    }
}
