using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using VirtualCluster.Routing.Signaling;

namespace VirtualCluster.Routing.PeerLinks;

/// <summary>
/// The gateway's peer links: one <see cref="PeerLink"/> per node it is told about (<see cref="Track(IEnumerable{string})"/>), each kept up
/// in the background while the node is on the signaling hub. Opens proxied connections over them.
/// </summary>
public sealed class PeerLinkManager : IAsyncDisposable
{
    private readonly ISignalingEndpoint endpoint;
    private readonly Func<PeerLinkOptions> options;
    private readonly ILoggerFactory loggers;
    private readonly TimeProvider time;
    private readonly ConcurrentDictionary<string, (PeerLink Link, Task Run)> links = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> present = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> lastConnection = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();

    /// <param name="endpoint">The gateway's own participant on its signaling hub.</param>
    /// <param name="options">Current link settings (read at each attempt, so new ICE servers apply on the next one).</param>
    public PeerLinkManager(ISignalingEndpoint endpoint, Func<PeerLinkOptions> options, ILoggerFactory loggers, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(options);
        PeerLinkOptionsValidator.ThrowIfInvalid(options());
        this.endpoint = endpoint;
        this.options = options;
        this.loggers = loggers;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Sets the nodes on the signaling hub now: each gets a link (created on first sight); links of absent nodes keep
    /// what they have but make no new attempts until the node is back.
    /// </summary>
    /// <remarks>
    /// With each node goes the id of its signaling connection: when it changes (the agent restarted, or lost its
    /// network), a fresh link is tried at once instead of waiting for the old one to time out.
    /// </remarks>
    public void Track(IEnumerable<KeyValuePair<string, long>> nodesOnHub)
    {
        if (stopping.IsCancellationRequested) return;
        var now = nodesOnHub.ToDictionary(StringComparer.Ordinal);
        foreach (var node in present.Keys.Where(n => !now.ContainsKey(n)))
        {
            present.TryRemove(node, out _);
            if (links.TryGetValue(node, out var gone)) gone.Link.Left();
        }
        foreach (var (node, connection) in now)
        {
            // A new connection id (also after an absence) means the node restarted or lost its network.
            var changed = lastConnection.TryGetValue(node, out var before) && before != connection;
            lastConnection[node] = connection;
            present[node] = connection;
            var (link, _) = links.GetOrAdd(node, n =>
            {
                var created = new PeerLink(n, endpoint, options, present.ContainsKey, loggers, time);
                return (created, Task.Run(() => created.RunAsync(stopping.Token)));
            });
            if (changed) link.Nudge();
        }
    }

    /// <summary>Like <see cref="Track(IEnumerable{KeyValuePair{string, long}})"/> without connection ids.</summary>
    public void Track(IEnumerable<string> nodesOnHub) => Track(nodesOnHub.Select(n => KeyValuePair.Create(n, 0L)));

    /// <summary>True when a link to <paramref name="node"/> is connected now.</summary>
    public bool IsConnected(string node) => links.TryGetValue(node, out var l) && l.Link.IsConnected;

    /// <summary>
    /// The link connection that dials to <paramref name="node"/> go over now, or null when none is connected. A new
    /// object each time a fresh link replaces the old one, so a caller pooling connections per link can tell.
    /// </summary>
    public object? CurrentLink(string node) => links.TryGetValue(node, out var l) && l.Link.IsConnected ? l.Link.Connection : null;

    /// <summary>True when a link to <paramref name="node"/> was ever up.</summary>
    public bool EverConnected(string node) => links.TryGetValue(node, out var l) && l.Link.EverConnected;

    /// <summary>Every link's status.</summary>
    public IReadOnlyList<PeerLinkStatus> Links => links.Values.Select(l => l.Link.Status()).OrderBy(s => s.Node, StringComparer.Ordinal).ToList();

    /// <summary>Opens a proxied connection to <paramref name="port"/> on <paramref name="node"/>'s loopback over its link.</summary>
    /// <exception cref="Tunnel.TunnelRefusedException">The node refused the port.</exception>
    /// <exception cref="IOException">No link is up, or it broke while opening.</exception>
    public ValueTask<Stream> DialAsync(string node, int port, CancellationToken cancellationToken = default) =>
        links.TryGetValue(node, out var l) ? l.Link.DialAsync(port, cancellationToken)
            : ValueTask.FromException<Stream>(new IOException($"no peer link to {node}"));

    /// <summary>The connected peer connection to <paramref name="node"/> (tests open raw channels on it).</summary>
    internal P2P.PeerConnections.PeerConnection? ConnectionTo(string node) => links.TryGetValue(node, out var l) ? l.Link.Connection : null;

    /// <summary>Closes every link.</summary>
    public async ValueTask DisposeAsync()
    {
        if (stopping.IsCancellationRequested) return;
        await stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(links.Values.Select(l => l.Run)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A link stopped mid-attempt; it has closed its connections.
        }
        stopping.Dispose();
    }
}
