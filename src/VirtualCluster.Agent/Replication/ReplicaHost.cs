using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using VirtualCluster.Replication.Volumes;

namespace VirtualCluster.Agent.Replication;

/// <summary>
/// This node's <see cref="ReplicaServer"/>: keeps replicas of other nodes' volumes under
/// <c>&lt;data&gt;/replicas</c> and restores one into a new instance's volume when a failover starts it here.
/// </summary>
internal sealed partial class ReplicaHost(AgentOptions options, IReplicaAuthenticator authenticator, ILoggerFactory loggers) : IAsyncDisposable
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
                logger: loggers.CreateLogger<ReplicaServer>());
            LogListening(_logger, _server.EndPoint.Port);
        }
        catch (SocketException e)
        {
            LogCannotListen(_logger, port, e.Message);
        }
    }

    /// <summary>Restores the replica of <paramref name="volumeId"/> into <paramref name="target"/>; the replica's epoch, or null when this node holds none.</summary>
    public long? RestoreTo(string volumeId, string target) => _server?.RestoreTo(volumeId, target);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    [LoggerMessage(2301, LogLevel.Information, "Replica server listening on port {Port}")]
    private static partial void LogListening(ILogger logger, int port);

    [LoggerMessage(2302, LogLevel.Error, "Replica server cannot listen on port {Port}: {Reason}; this node will hold no replicas (set another --replica-port)")]
    private static partial void LogCannotListen(ILogger logger, int port, string reason);
}
