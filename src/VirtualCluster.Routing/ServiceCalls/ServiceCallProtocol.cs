using System.Buffers.Binary;
using System.Text;

namespace VirtualCluster.Routing.ServiceCalls;

/// <summary>What a gateway answers to a service call.</summary>
public enum ServiceCallStatus : byte
{
    /// <summary>Connected to an instance: every byte after the answer is the service's.</summary>
    Connected = 0,
    /// <summary>No service of that name is deployed.</summary>
    UnknownService = 1,
    /// <summary>The service has no healthy instance now (failing over, starting, or none running).</summary>
    NoInstance = 2,
    /// <summary>The request broke the protocol (bad name, wrong version, cut short).</summary>
    BadRequest = 3,
    /// <summary>Instances are listed, but none could be connected.</summary>
    Unreachable = 4,
}

/// <summary>A request or answer that breaks <see cref="ServiceCallProtocol"/>; the message says how.</summary>
public sealed class ServiceCallProtocolException(string message) : Exception(message);

/// <summary>
/// The start of a service call: an agent opens a stream to a gateway (over its tunnel, "port" <see cref="TunnelPort"/>)
/// for an instance that connected to the agent's local address of a service, and the gateway connects it to a healthy
/// instance of that service wherever it runs. Request: version (1 byte, 1), name length (1 byte), the service name
/// (ASCII, a DNS label). Answer: status (1 byte, <see cref="ServiceCallStatus"/>), message length (u16 big-endian, at
/// most <see cref="MaxMessageBytes"/>), a UTF-8 message. After a <see cref="ServiceCallStatus.Connected"/> answer the
/// stream carries the service's bytes both ways (any TCP protocol: HTTP, WebSocket, a database's).
/// </summary>
public static class ServiceCallProtocol
{
    /// <summary>The tunnel "port" of a service call (a gateway has no loopback ports to offer, so 1 is free for this).</summary>
    public const int TunnelPort = 1;

    /// <summary>Version byte of the request.</summary>
    public const byte Version = 1;

    /// <summary>Longest service name (a DNS label).</summary>
    public const int MaxNameLength = 63;

    /// <summary>Longest message in an answer; longer ones are cut.</summary>
    public const int MaxMessageBytes = 1024;

    /// <summary>True when <paramref name="name"/> can be a service's name: 1 to 63 of a-z, 0-9 and '-'.</summary>
    public static bool IsServiceName(string name) =>
        name.Length is > 0 and <= MaxNameLength && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    /// <summary>Writes the request for <paramref name="service"/>.</summary>
    public static async Task WriteRequestAsync(Stream stream, string service, CancellationToken cancellationToken = default)
    {
        if (!IsServiceName(service)) throw new ArgumentException($"\"{service}\" is not a service name", nameof(service));
        var bytes = new byte[2 + service.Length];
        bytes[0] = Version;
        bytes[1] = (byte)service.Length;
        Encoding.ASCII.GetBytes(service, bytes.AsSpan(2));
        await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a request: the service name.</summary>
    /// <exception cref="ServiceCallProtocolException">Wrong version, a name that is not a service name, or the stream ended first.</exception>
    public static async Task<string> ReadRequestAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var head = new byte[2];
        await ReadExactlyAsync(stream, head, cancellationToken).ConfigureAwait(false);
        if (head[0] != Version) throw new ServiceCallProtocolException($"unknown service-call version {head[0]} (this gateway speaks {Version})");
        if (head[1] is 0 or > MaxNameLength) throw new ServiceCallProtocolException($"a service name of {head[1]} bytes is not 1..{MaxNameLength}");
        var name = new byte[head[1]];
        await ReadExactlyAsync(stream, name, cancellationToken).ConfigureAwait(false);
        var text = Encoding.ASCII.GetString(name);
        if (!IsServiceName(text)) throw new ServiceCallProtocolException("the service name has characters other than a-z, 0-9 and '-'");
        return text;
    }

    /// <summary>Writes an answer; a message longer than <see cref="MaxMessageBytes"/> is cut.</summary>
    public static async Task WriteAnswerAsync(Stream stream, ServiceCallStatus status, string message, CancellationToken cancellationToken = default)
    {
        var text = Encoding.UTF8.GetBytes(message);
        var length = Math.Min(text.Length, MaxMessageBytes);
        var bytes = new byte[3 + length];
        bytes[0] = (byte)status;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(1), (ushort)length);
        text.AsSpan(0, length).CopyTo(bytes.AsSpan(3));
        await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads an answer.</summary>
    /// <exception cref="ServiceCallProtocolException">An unknown status, a message too long, or the stream ended first.</exception>
    public static async Task<(ServiceCallStatus Status, string Message)> ReadAnswerAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var head = new byte[3];
        await ReadExactlyAsync(stream, head, cancellationToken).ConfigureAwait(false);
        if (head[0] > (byte)ServiceCallStatus.Unreachable) throw new ServiceCallProtocolException($"unknown service-call status {head[0]}");
        var length = BinaryPrimitives.ReadUInt16BigEndian(head.AsSpan(1));
        if (length > MaxMessageBytes) throw new ServiceCallProtocolException($"an answer message of {length} bytes is longer than {MaxMessageBytes}");
        var message = new byte[length];
        await ReadExactlyAsync(stream, message, cancellationToken).ConfigureAwait(false);
        return ((ServiceCallStatus)head[0], Encoding.UTF8.GetString(message));
    }

    private static async Task ReadExactlyAsync(Stream stream, byte[] buffer, CancellationToken ct)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, ct).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            throw new ServiceCallProtocolException("the stream ended inside the service call's header");
        }
    }
}
