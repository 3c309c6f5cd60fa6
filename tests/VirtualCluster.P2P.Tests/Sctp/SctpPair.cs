using System.Collections.Concurrent;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Sctp;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Tests.Sctp;

/// <summary>Two associations over a <see cref="MemoryLink"/>: A is the DTLS client (even ids), B the server.</summary>
internal sealed class SctpPair : IAsyncDisposable
{
    public MemoryLink Link { get; }
    public SctpAssociation A { get; }
    public SctpAssociation B { get; }
    public ConcurrentQueue<DataChannel> AcceptedByB { get; } = new();
    public ConcurrentQueue<DataChannel> AcceptedByA { get; } = new();

    public SctpPair(SctpOptions? optionsA = null, SctpOptions? optionsB = null, int mtu = 1200, int seed = 1, Action<MemoryLink>? configure = null)
    {
        Link = new MemoryLink(mtu, seed);
        configure?.Invoke(Link);
        A = new SctpAssociation(Link.A, isDtlsClient: true, optionsA ?? Fast());
        B = new SctpAssociation(Link.B, isDtlsClient: false, optionsB ?? Fast());
        A.RemoteMaxMessageSize = B.LocalMaxMessageSize;
        B.RemoteMaxMessageSize = A.LocalMaxMessageSize;
        A.DataChannelOpened += AcceptedByA.Enqueue;
        B.DataChannelOpened += AcceptedByB.Enqueue;
    }

    /// <summary>Options with short timers so loss recovery and failure detection take well under a second per event.</summary>
    public static SctpOptions Fast() => new() { InitialRto = TimeSpan.FromMilliseconds(200), MinRto = TimeSpan.FromMilliseconds(50), MaxRto = TimeSpan.FromSeconds(1) };

    public static async Task<SctpPair> ConnectAsync(SctpOptions? optionsA = null, SctpOptions? optionsB = null, int mtu = 1200, int seed = 1, Action<MemoryLink>? configure = null)
    {
        var pair = new SctpPair(optionsA, optionsB, mtu, seed, configure);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await Task.WhenAll(pair.A.ConnectAsync(cts.Token), pair.B.ConnectAsync(cts.Token));
        return pair;
    }

    /// <summary>Opens a channel from A and waits until B has accepted it.</summary>
    public async Task<(DataChannel OnA, DataChannel OnB)> OpenAsync(string label, DataChannelInit? init = null)
    {
        var a = A.CreateDataChannel(label, init);
        var b = await Eventually.ValueAsync(() => AcceptedByB.TryDequeue(out var c) ? c : null, $"B accepts channel '{label}'");
        return (a, b);
    }

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        Link.Dispose();
    }
}

/// <summary>Polls a condition until a deadline (never a fixed sleep).</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Func<string>? describe = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting until: {what}{(describe is null ? "" : " (" + describe() + ")")}");
            await Task.Delay(5);
        }
    }

    public static async Task<T> ValueAsync<T>(Func<T?> get, string what, TimeSpan? timeout = null) where T : class
    {
        T? value = null;
        await TrueAsync(() => (value = get()) is not null, what, timeout);
        return value!;
    }
}
