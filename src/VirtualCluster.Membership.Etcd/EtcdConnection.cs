using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Etcd;

/// <summary>
/// gRPC channels to the etcd members (dotnet-etcd's generated clients), the key prefix, and calls with
/// deadlines, moving to the next member when one cannot be reached.
/// </summary>
internal sealed partial class EtcdConnection : IDisposable
{
    private readonly GrpcChannel[] _channels;
    private readonly EtcdMembershipOptions _options;
    private readonly ILogger _logger;
    private int _current;

    public EtcdConnection(EtcdMembershipOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _channels = options.Endpoints.Select(e => GrpcChannel.ForAddress(e, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = options.OperationTimeout,
                KeepAlivePingDelay = TimeSpan.FromSeconds(10),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
                EnableMultipleHttp2Connections = true,
            },
        })).ToArray();
        Prefix = options.KeyPrefix;
    }

    public string Prefix { get; }

    public CallInvoker Invoker => _channels[Volatile.Read(ref _current) % _channels.Length].CreateCallInvoker();

    public string Endpoint => _options.Endpoints[Volatile.Read(ref _current) % _channels.Length];

    public ByteString Key(string relative) => ByteString.CopyFromUtf8(Prefix + relative);

    public string Relative(ByteString key)
    {
        var text = key.ToStringUtf8();
        return text.StartsWith(Prefix, StringComparison.Ordinal) ? text[Prefix.Length..] : text;
    }

    /// <summary>The first key after every key that starts with <paramref name="prefix"/> (etcd's range end for a prefix).</summary>
    public static ByteString PrefixEnd(ByteString prefix)
    {
        var bytes = prefix.ToByteArray();
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] == 0xff) continue;
            bytes[i]++;
            return ByteString.CopyFrom(bytes, 0, i + 1);
        }
        return ByteString.CopyFrom(0); // every key
    }

    public DateTime Deadline() => DateTime.UtcNow + _options.OperationTimeout;

    public TimeSpan WatchRetryDelay => _options.WatchRetryDelay;

    /// <summary>
    /// Runs a unary call. On a connection failure it moves to the next member and tries again, for reads always,
    /// for writes only when the request certainly did not leave (the connection could not be made), until
    /// every member failed once more than it has members.
    /// </summary>
    public async Task<T> CallAsync<T>(Func<CallInvoker, CallOptions, Task<T>> call, bool idempotent, CancellationToken cancellationToken)
    {
        RpcException? last = null;
        for (var attempt = 0; attempt <= _channels.Length; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await call(Invoker, new CallOptions(deadline: Deadline(), cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The etcd call was canceled.", e, cancellationToken);
            }
            catch (RpcException e) when (IsConnectionFailure(e))
            {
                last = e;
                Log.CallFailed(_logger, Endpoint, e.Status.Detail);
                MoveToNextEndpoint();
                if (!idempotent && !NotSent(e)) break;
                if (attempt > 0) await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
        throw Unavailable(last!);
    }

    public void MoveToNextEndpoint() => Interlocked.Increment(ref _current);

    public KeyValueStoreUnavailableException Unavailable(RpcException e) =>
        new($"etcd at {string.Join(", ", _options.Endpoints)} did not answer: {e.Status.StatusCode} {e.Status.Detail}", e);

    /// <summary>
    /// The call failed in transport (member down, connection reset, deadline), not with an answer of etcd's:
    /// errors etcd sends (no leader, lease not found, invalid request) carry no local exception.
    /// </summary>
    public static bool IsConnectionFailure(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        || (e.StatusCode is StatusCode.Internal or StatusCode.Unknown && e.Status.DebugException is not null);

    private static bool NotSent(RpcException e) =>
        e.Status.DebugException is System.Net.Sockets.SocketException
            or HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError }
        || e.Status.Detail.StartsWith("Error connecting to subchannel", StringComparison.Ordinal);

    public static bool IsLeaseNotFound(RpcException e) =>
        e.StatusCode == StatusCode.NotFound || e.Status.Detail.Contains("lease not found", StringComparison.Ordinal);

    public static string Describe(ByteString value) => Encoding.UTF8.GetString(value.Span);

    public void Dispose()
    {
        foreach (var channel in _channels) channel.Dispose();
    }
}
