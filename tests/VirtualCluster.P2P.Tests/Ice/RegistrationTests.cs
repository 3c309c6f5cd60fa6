using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VirtualCluster.P2P.Ice;

namespace VirtualCluster.P2P.Tests.Ice;

public sealed class RegistrationTests
{
    [Fact]
    public async Task The_factory_creates_agents_with_the_registered_options()
    {
        var services = new ServiceCollection().AddVirtualClusterP2P(o => o.NominationTimeout = TimeSpan.FromMilliseconds(300));
        using var provider = services.BuildServiceProvider();
        await using var agent = provider.GetRequiredService<IIceAgentFactory>().Create(IceRole.Controlled);
        Assert.Equal(IceRole.Controlled, agent.Role);
        Assert.Equal(TimeSpan.FromMilliseconds(300), provider.GetRequiredService<IOptions<IceAgentOptions>>().Value.NominationTimeout);
    }

    [Fact]
    public void Invalid_options_are_refused_by_the_registered_validator()
    {
        var services = new ServiceCollection().AddVirtualClusterP2P(o => o.MaxPairs = 0);
        using var provider = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IIceAgentFactory>().Create(IceRole.Controlling));
        Assert.Contains(e.Failures, f => f.Contains("MaxPairs"));
    }
}
