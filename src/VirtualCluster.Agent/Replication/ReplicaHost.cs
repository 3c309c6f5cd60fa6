using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using VirtualCluster.Replication.Volumes;

namespace VirtualCluster.Agent.Replication;

/// <summary>
/// This node's <see cref="ReplicaServer"/>: keeps replicas of other nodes' volumes under
/// <c>&lt;data&gt;/replicas</c> and restores one into a new instance's volume when a failover starts it here.
/// </summary>
internal sealed partial class ReplicaHost(AgentOptions options, IReplicaAuthenticator authenticator, ILoggerFactory loggers, ReplicaTls? tls = null) : IAsyncDisposable
{
    private readonly ILogger _logger = loggers.CreateLogger<ReplicaHost>();
    private ReplicaServer? _server;

    /// <summary>The port other agents push replicas to; null while no server runs.</summary>
    public int? Port => _server?.EndPoint.Port;

    /// <summary>Starts listening on <see cref="AgentOptions.ReplicaPort"/>; a port that cannot be had is logged, and the node holds no replicas.</summary>
    public void Start()
    {
        if (_server is not null || options.ReplicaPort is not { } port) return;
        try
        {
            _server = new ReplicaServer(new IPEndPoint(IPAddress.Any, port), Path.Combine(options.DataDirectory, "replicas"), authenticator,
                logger: loggers.CreateLogger<ReplicaServer>(), tls: tls);
            LogListening(_logger, _server.EndPoint.Port);
        }
        catch (SocketException e)
        {
            LogCannotListen(_logger, port, e.Message);
        }
    }

    /// <summary>Restores the replica of <paramref name="volumeId"/> into <paramref name="target"/>; the replica's epoch, or null when this node holds none.</summary>
    public long? RestoreTo(string volumeId, string target) => _server?.RestoreTo(volumeId, target);

    // When each replica was first seen unwanted (by TimeProvider time): it is deleted once that is ReplicaRetention ago.
    private readonly Dictionary<string, DateTimeOffset> _unwantedSince = new(StringComparer.Ordinal);
    private (int Wanted, int Unwanted) _lastCounts = (-1, -1);

    /// <summary>
    /// Deletes replicas the control plane no longer lists for this node (<paramref name="keep"/>) once they have been
    /// unwanted for <see cref="AgentOptions.ReplicaRetention"/> and no sender pushed them meanwhile. A replica listed
    /// again is kept and its clock reset. Returns the ids deleted. One caller at a time.
    /// </summary>
    public IReadOnlyList<string> Collect(IReadOnlyCollection<string> keep, DateTimeOffset now)
    {
        if (_server is null) return [];
        var wanted = keep.ToHashSet(StringComparer.Ordinal);
        var held = _server.Volumes();
        var removed = new List<string>();
        foreach (var id in _unwantedSince.Keys.Where(id => wanted.Contains(id) || !held.Contains(id)).ToList()) _unwantedSince.Remove(id);
        foreach (var id in held.Where(id => !wanted.Contains(id)))
        {
            if (!_unwantedSince.TryGetValue(id, out var since)) _unwantedSince[id] = since = now;
            if (now - since < options.ReplicaRetention) continue;
            if (!_server.TryRemove(id, options.ReplicaRetention)) continue;
            _unwantedSince.Remove(id);
            removed.Add(id);
            LogRemoved(_logger, id, options.ReplicaRetention);
        }
        var counts = (held.Count(wanted.Contains), held.Count - held.Count(wanted.Contains) - removed.Count);
        if (counts != _lastCounts) LogHeld(_logger, counts.Item1, counts.Item2, options.ReplicaRetention);
        _lastCounts = counts;
        return removed;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    [LoggerMessage(2301, LogLevel.Information, "Replica server listening on port {Port}")]
    private static partial void LogListening(ILogger logger, int port);

    [LoggerMessage(2306, LogLevel.Information, "Replicas held: {Wanted} wanted, {Unwanted} no longer wanted (deleted after {Retention} unwanted)")]
    private static partial void LogHeld(ILogger logger, int wanted, int unwanted, TimeSpan retention);

    [LoggerMessage(2307, LogLevel.Information, "Deleted replica {VolumeId}: no instance of an existing service has had it on this node for {Retention}")]
    private static partial void LogRemoved(ILogger logger, string volumeId, TimeSpan retention);

    [LoggerMessage(2302, LogLevel.Error, "Replica server cannot listen on port {Port}: {Reason}; this node will hold no replicas (set another --replica-port)")]
    private static partial void LogCannotListen(ILogger logger, int port, string reason);
}
