using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Dns;

/// <summary>
/// The UDP listener: one socket, one receive loop answering inline (an answer costs microseconds and no I/O besides
/// the send). Every packet is checked by <see cref="ZoneResponder"/>; a malformed one costs a FORMERR header or
/// nothing, and no exception leaves the loop. TCP is served too on the same address and port (see DnsServer.Tcp.cs).
/// </summary>
public sealed partial class DnsServer : BackgroundService
{
    private readonly DnsServerOptions _options;
    private readonly ZoneResponder _responder;
    private readonly SourceRateLimiter _limiter;
    private readonly DnsMetrics _metrics;
    private readonly ILogger<DnsServer> _logger;
    private readonly TimeProvider _time;
    private Socket? _socket;

    /// <summary>Creates the server; the socket is bound in <see cref="StartAsync"/>.</summary>
    public DnsServer(IOptions<DnsServerOptions> options, IDnsRecordSource records, TimeProvider time, DnsMetrics metrics, ILogger<DnsServer> logger)
    {
        _options = options.Value;
        _responder = new ZoneResponder(_options, records, time);
        _limiter = new SourceRateLimiter(_options.QueriesPerSecondPerSource, _options.BurstPerSource, _options.MaxTrackedSources, time);
        _metrics = metrics;
        _logger = logger;
        _time = time;
    }

    /// <summary>Where the server answers (with the real port when <see cref="DnsServerOptions.Listen"/> asked for port 0); null before start.</summary>
    public IPEndPoint? LocalEndPoint => _socket?.LocalEndPoint as IPEndPoint;

    /// <summary>Binds the socket, so a taken port fails the host's start with a clear message.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var endpoint = IPEndPoint.Parse(_options.Listen);
        // Port 0: UDP picks a free port, and TCP must get the same one, which an unrelated TCP socket may hold (an
        // outgoing connection's ephemeral port); then try another port rather than fail.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Bind(endpoint);
                break;
            }
            catch (InvalidOperationException e) when (endpoint.Port == 0 && attempt < 20 && e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } && _socket is null)
            {
            }
        }
        LogListening(LocalEndPoint!, _options.Zone);
        return base.StartAsync(cancellationToken);
    }

    private void Bind(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = endpoint.Address.Equals(IPAddress.IPv6Any);
            socket.Bind(endpoint);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new InvalidOperationException($"DNS: cannot listen on udp {_options.Listen}: {e.Message} (port 53 needs root or CAP_NET_BIND_SERVICE; pick another address or port)", e);
        }
        _socket = socket;
        if (_options.Tcp) BindTcp(new IPEndPoint(endpoint.Address, LocalEndPoint!.Port));
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var socket = _socket!;
        var tcp = _tcp is null ? Task.CompletedTask : AcceptLoopAsync(_tcp, stoppingToken);
        try
        {
            await ReceiveLoopAsync(socket, stoppingToken);
        }
        finally
        {
            _tcp?.Dispose();
            await tcp;
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken stoppingToken)
    {
        var receive = new byte[4096];
        var send = new byte[Math.Max(512, _options.MaxUdpPayload)];
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!stoppingToken.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(receive, SocketFlags.None, any, stoppingToken);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize or SocketError.NoBufferSpaceAvailable)
            {
                _metrics.Dropped("receive_error"); // an ICMP error from an earlier send, or an oversized datagram
                continue;
            }
            catch (SocketException e)
            {
                LogReceiveFailed(e.SocketErrorCode, e.Message);
                _metrics.Dropped("receive_error");
                await Task.Delay(TimeSpan.FromMilliseconds(50), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                continue;
            }
            var source = (IPEndPoint)received.RemoteEndPoint;
            var length = Answer(receive.AsSpan(0, received.ReceivedBytes), source, send);
            if (length == 0) continue;
            try
            {
                await socket.SendToAsync(send.AsMemory(0, length), SocketFlags.None, source, stoppingToken);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException e)
            {
                LogSendFailed(source, e.SocketErrorCode);
            }
        }
    }

    /// <summary>The answer to one datagram from <paramref name="source"/>; 0 = send nothing. Never throws.</summary>
    internal int Answer(ReadOnlySpan<byte> datagram, IPEndPoint source, Span<byte> response)
    {
        // Port 0 cannot be answered, and nothing legitimate comes from it.
        if (source.Port == 0) { _metrics.Dropped("source_port_0"); return 0; }
        if (!_limiter.TryTake(source.Address)) { _metrics.Dropped("rate_limited"); return 0; }
        ZoneResponder.Outcome outcome;
        try
        {
            outcome = _responder.Respond(datagram, response);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not an input problem: log it, answer nothing, keep serving.
            LogAnswerFailed(source, e);
            _metrics.Dropped("error");
            return 0;
        }
        if (outcome.Length == 0) { _metrics.Dropped("malformed"); LogDropped(source, outcome.Problem ?? "no answer"); return 0; }
        if (outcome.Problem is not null) LogRefused(source, outcome.Problem);
        _metrics.Answered(outcome.Rcode);
        return outcome.Length;
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _socket?.Dispose(); // ends a pending receive at once
        _tcp?.Dispose();
        await base.StopAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _socket?.Dispose();
        _tcp?.Dispose();
        base.Dispose();
    }
}
