using System.Net;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Tests.Ice;

/// <summary>Two agents on an in-memory network with a fake clock; the test pumps datagrams and time.</summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    public static readonly IPAddress AddressA = IPAddress.Parse("192.0.2.1");
    public static readonly IPAddress AddressB = IPAddress.Parse("198.51.100.1");

    public FakeTimeProvider Time { get; } = new();
    public MemoryNetwork Network { get; }
    public IceAgent A { get; }
    public IceAgent B { get; }

    public AgentHarness(IceRole roleA = IceRole.Controlling, IceRole roleB = IceRole.Controlled, Action<IceAgentOptions>? configure = null,
        Action<IceAgentOptions>? configureB = null)
    {
        Network = new MemoryNetwork { AutoDeliver = false, Clock = Time };
        A = Create(roleA, AddressA, configure, null);
        B = Create(roleB, AddressB, configure, configureB);
    }

    private IceAgent Create(IceRole role, IPAddress address, Action<IceAgentOptions>? configure, Action<IceAgentOptions>? more)
    {
        var options = new IceAgentOptions { LocalAddresses = [address] };
        configure?.Invoke(options);
        more?.Invoke(options);
        return new IceAgent(role, options, Time, socketFactory: ep => Network.CreateSocket(ep.Address, ep.Port));
    }

    /// <summary>Gathers both, exchanges credentials, and the candidates of the sides asked for, then end-of-candidates.</summary>
    public async Task ExchangeAsync(bool signalA = true, bool signalB = true)
    {
        await A.GatherAsync();
        await B.GatherAsync();
        A.SetRemoteParameters(B.LocalParameters);
        B.SetRemoteParameters(A.LocalParameters);
        if (signalA) foreach (var c in A.LocalCandidates) B.AddRemoteCandidate(c);
        if (signalB) foreach (var c in B.LocalCandidates) A.AddRemoteCandidate(c);
        A.AddRemoteEndOfCandidates();
        B.AddRemoteEndOfCandidates();
    }

    /// <summary>Delivers datagrams and advances the clock in steps (5 ms by default) until <paramref name="condition"/> or the virtual deadline.</summary>
    public async Task<bool> PumpUntilAsync(Func<bool> condition, TimeSpan virtualTimeout, int stepMilliseconds = 5)
    {
        var deadline = Time.GetUtcNow() + virtualTimeout;
        while (Time.GetUtcNow() < deadline)
        {
            Network.DeliverPending();
            await Task.Delay(1); // let thread-pool continuations (check results) run
            Network.DeliverPending();
            if (condition()) return true;
            Time.Advance(TimeSpan.FromMilliseconds(stepMilliseconds));
        }
        return condition();
    }

    public Task PumpAsync(TimeSpan virtualTime, int stepMilliseconds = 5) => PumpUntilAsync(() => false, virtualTime, stepMilliseconds);

    public async ValueTask DisposeAsync()
    {
        var a = A.DisposeAsync().AsTask();
        var b = B.DisposeAsync().AsTask();
        // TURN-less agents close without network round trips
        await Task.WhenAll(a, b);
    }
}
