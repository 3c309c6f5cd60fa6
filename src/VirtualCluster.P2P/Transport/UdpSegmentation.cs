using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace VirtualCluster.P2P.Transport;

/// <summary>
/// Linux UDP generic segmentation offload (UDP_SEGMENT, kernel 4.18+): several datagrams of one size (the last may be
/// shorter) handed to the kernel in one sendmsg with the segment size in a control message. The kernel, or the
/// network card, cuts them apart; on the wire and at the receiver they are ordinary datagrams, each at most the
/// segment size. It saves a system call, a route and netfilter lookup and a socket-buffer setup per datagram, which is
/// most of what a datagram costs to send. .NET has no API for it, so this is a plain sendmsg through libc.
/// </summary>
internal static partial class UdpSegmentation
{
    /// <summary>At most this many segments per call (the kernel's UDP_MAX_SEGMENTS is 64 on older kernels).</summary>
    public const int MaxSegments = 64;
    /// <summary>At most this many bytes per call: one IPv4 or IPv6 UDP payload.</summary>
    public const int MaxBytes = 65000;
    private const int SolUdp = 17, UdpSegment = 103, UdpGro = 104, AfInet = 2, AfInet6 = 10;

    /// <summary>True where the call exists (Linux, 64-bit: the msghdr layout below).</summary>
    public static bool Supported { get; } = OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>Sends <paramref name="datagrams"/> as segments of <paramref name="segmentSize"/>; false (nothing sent) on any error.</summary>
    public static unsafe bool TrySend(SafeSocketHandle socket, ReadOnlySpan<byte> datagrams, int segmentSize, IPEndPoint destination)
    {
        Span<byte> name = stackalloc byte[28];
        name.Clear();
        int nameLength;
        if (destination.AddressFamily == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(name, AfInet);
            BinaryPrimitives.WriteUInt16BigEndian(name[2..], (ushort)destination.Port);
            if (!destination.Address.TryWriteBytes(name.Slice(4, 4), out _)) return false;
            nameLength = 16;
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(name, AfInet6);
            BinaryPrimitives.WriteUInt16BigEndian(name[2..], (ushort)destination.Port);
            if (!destination.Address.TryWriteBytes(name.Slice(8, 16), out _)) return false;
            BinaryPrimitives.WriteUInt32LittleEndian(name[24..], (uint)destination.Address.ScopeId);
            nameLength = 28;
        }
        // one cmsghdr (length, level, type: 16 bytes) and a u16 segment size, padded to 8 bytes: CMSG_SPACE(2) = 24
        Span<byte> control = stackalloc byte[24];
        control.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(control, 16 + 2);
        BinaryPrimitives.WriteInt32LittleEndian(control[8..], SolUdp);
        BinaryPrimitives.WriteInt32LittleEndian(control[12..], UdpSegment);
        BinaryPrimitives.WriteUInt16LittleEndian(control[16..], (ushort)segmentSize);
        var added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            fixed (byte* data = datagrams)
            fixed (byte* namePtr = name)
            fixed (byte* controlPtr = control)
            {
                var iov = new IoVec { Base = data, Length = (nuint)datagrams.Length };
                var msg = new MsgHdr
                {
                    Name = namePtr, NameLength = (uint)nameLength, Iov = &iov, IovLength = 1,
                    Control = controlPtr, ControlLength = (nuint)control.Length,
                };
                return SendMsg((int)socket.DangerousGetHandle(), &msg, 0) == datagrams.Length;
            }
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added) socket.DangerousRelease();
        }
    }

    /// <summary>
    /// Turns on UDP generic receive offload (UDP_GRO, kernel 5.0+): datagrams of one flow that the kernel kept
    /// together (sent with segmentation offload, or merged by the network card) arrive in one receive, with their
    /// segment size in a control message that <see cref="Receive"/> reads. False where it is not available.
    /// </summary>
    public static bool TryEnableReceiveOffload(Socket socket)
    {
        if (!Supported) return false;
        try
        {
            socket.SetRawSocketOption(SolUdp, UdpGro, [1, 0, 0, 0]);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// One blocking recvmsg: the bytes received (several datagrams of <paramref name="segmentSize"/> when the kernel
    /// kept them together, else 0 there), the sender's address in <paramref name="name"/> (raw sockaddr), or -1 and
    /// the errno in <paramref name="error"/>.
    /// </summary>
    public static unsafe int Receive(SafeSocketHandle socket, Span<byte> buffer, Span<byte> name, out int nameLength, out int segmentSize, out int error)
    {
        Span<byte> control = stackalloc byte[64];
        nameLength = segmentSize = error = 0;
        var added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            fixed (byte* data = buffer)
            fixed (byte* namePtr = name)
            fixed (byte* controlPtr = control)
            {
                var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
                var msg = new MsgHdr
                {
                    Name = namePtr, NameLength = (uint)name.Length, Iov = &iov, IovLength = 1,
                    Control = controlPtr, ControlLength = (nuint)control.Length,
                };
                var n = (int)RecvMsg((int)socket.DangerousGetHandle(), &msg, 0);
                if (n < 0)
                {
                    error = Marshal.GetLastPInvokeError();
                    return -1;
                }
                nameLength = (int)msg.NameLength;
                // control messages: cmsg_len (8), level (4), type (4), data, each padded to 8 bytes
                var controlLength = (int)Math.Min((ulong)msg.ControlLength, (ulong)control.Length);
                for (var o = 0; o + 16 <= controlLength;)
                {
                    var length = (int)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(control[o..]), (ulong)controlLength);
                    if (length < 16) break;
                    if (BinaryPrimitives.ReadInt32LittleEndian(control[(o + 8)..]) == SolUdp && BinaryPrimitives.ReadInt32LittleEndian(control[(o + 12)..]) == UdpGro && length >= 20)
                        segmentSize = BinaryPrimitives.ReadInt32LittleEndian(control[(o + 16)..]);
                    o += (length + 7) & ~7;
                }
                return n;
            }
        }
        catch (ObjectDisposedException)
        {
            error = EBadF;
            return -1;
        }
        finally
        {
            if (added) socket.DangerousRelease();
        }
    }

    /// <summary>errno values the receive loop tells apart.</summary>
    public const int EIntr = 4, EBadF = 9, EAgain = 11;

    /// <summary>The sender of a received datagram from its raw sockaddr (AF_INET or AF_INET6), or null if neither.</summary>
    public static IPEndPoint? ToEndPoint(ReadOnlySpan<byte> name)
    {
        if (name.Length >= 16 && BinaryPrimitives.ReadUInt16LittleEndian(name) == AfInet)
            return new IPEndPoint(new IPAddress(name.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(name[2..]));
        if (name.Length >= 28 && BinaryPrimitives.ReadUInt16LittleEndian(name) == AfInet6)
            return new IPEndPoint(new IPAddress(name.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(name[24..])), BinaryPrimitives.ReadUInt16BigEndian(name[2..]));
        return null;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static unsafe partial nint RecvMsg(int socket, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static unsafe partial nint SendMsg(int socket, MsgHdr* message, int flags);
}
