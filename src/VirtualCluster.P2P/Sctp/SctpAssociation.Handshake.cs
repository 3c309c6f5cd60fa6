using System.Buffers.Binary;
using System.Security.Cryptography;

namespace VirtualCluster.P2P.Sctp;

public sealed partial class SctpAssociation
{
    private const int CookieBodySize = 36, CookieSize = CookieBodySize + 32;
    private const int StreamCount = 65535;
    private int _initRetransmissions;
    private byte[]? _cookieToEcho;
    private uint _pendingPeerTag, _pendingPeerTsn, _pendingPeerRwnd;
    private ushort _pendingPeerInbound;
    private bool _pendingForwardTsn, _pendingReconfig;
    private uint _initialLocalTsn;
    private ushort _peerInboundStreams;
    private bool _peerSupportsForwardTsn, _peerSupportsReconfig;

    private void SetInitialTsn(uint tsn) => _initialLocalTsn = tsn;

    private void SendInit()
    {
        var w = new PacketWriter(_packet, _mtu, _options.LocalPort, _options.RemotePort, 0);
        var v = w.BeginChunk(ChunkType.Init, 0);
        var n = WriteInitBody(v, _localTag, _initialLocalTsn);
        w.EndChunk(n);
        SendPacket(w);
    }

    /// <summary>INIT and INIT-ACK share their fixed part and our extension parameters.</summary>
    private int WriteInitBody(Span<byte> v, uint tag, uint initialTsn)
    {
        BinaryPrimitives.WriteUInt32BigEndian(v, tag);
        BinaryPrimitives.WriteUInt32BigEndian(v[4..], (uint)_options.ReceiveWindow);
        BinaryPrimitives.WriteUInt16BigEndian(v[8..], StreamCount);
        BinaryPrimitives.WriteUInt16BigEndian(v[10..], StreamCount);
        BinaryPrimitives.WriteUInt32BigEndian(v[12..], initialTsn);
        var offset = 16;
        PacketWriter.WriteParam(v, ref offset, ParamType.SupportedExtensions, [ChunkType.ReConfig, ChunkType.ForwardTsn]);
        PacketWriter.WriteParam(v, ref offset, ParamType.ForwardTsnSupported, []);
        return offset;
    }

    private static bool ParseInitBody(ReadOnlySpan<byte> v, out uint tag, out uint rwnd, out ushort outbound, out ushort inbound,
        out uint tsn, out bool forwardTsn, out bool reconfig, out ReadOnlySpan<byte> cookie)
    {
        tag = rwnd = tsn = 0;
        outbound = inbound = 0;
        forwardTsn = reconfig = false;
        cookie = default;
        if (v.Length < 16) return false;
        tag = BinaryPrimitives.ReadUInt32BigEndian(v);
        rwnd = BinaryPrimitives.ReadUInt32BigEndian(v[4..]);
        outbound = BinaryPrimitives.ReadUInt16BigEndian(v[8..]);
        inbound = BinaryPrimitives.ReadUInt16BigEndian(v[10..]);
        tsn = BinaryPrimitives.ReadUInt32BigEndian(v[12..]);
        if (tag == 0 || outbound == 0 || inbound == 0) return false;
        var reader = new ParamReader(v[16..]);
        while (reader.Next(out var type, out var value))
        {
            switch (type)
            {
                case ParamType.ForwardTsnSupported: forwardTsn = true; break;
                case ParamType.StateCookie: cookie = value; break;
                case ParamType.SupportedExtensions:
                    foreach (var c in value)
                    {
                        if (c == ChunkType.ForwardTsn) forwardTsn = true;
                        if (c == ChunkType.ReConfig) reconfig = true;
                    }
                    break;
            }
        }
        return true;
    }

    /// <summary>INIT: answered with INIT-ACK and a signed cookie, keeping no state (RFC 9260 §5.1.3, §5.2.1).</summary>
    private void HandleInit(ReadOnlySpan<byte> v)
    {
        if (!ParseInitBody(v, out var peerTag, out var rwnd, out var outbound, out var inbound, out var peerTsn, out var fwd, out var reconfig, out _))
        {
            Drop("malformed-init");
            return;
        }
        uint tag, tsn;
        switch (_state)
        {
            case AssocState.Closed: tag = RandomTag(); tsn = RandomTag(); break;
            case AssocState.CookieWait or AssocState.CookieEchoed: tag = _localTag; tsn = _initialLocalTsn; break;
            default:
                // Established or closing: WebRTC peers never restart an association; a stray INIT is ignored.
                Drop("init-when-established");
                return;
        }
        Span<byte> cookie = stackalloc byte[CookieSize];
        BinaryPrimitives.WriteUInt32BigEndian(cookie, tag);
        BinaryPrimitives.WriteUInt32BigEndian(cookie[4..], tsn);
        BinaryPrimitives.WriteUInt32BigEndian(cookie[8..], peerTag);
        BinaryPrimitives.WriteUInt32BigEndian(cookie[12..], peerTsn);
        BinaryPrimitives.WriteUInt32BigEndian(cookie[16..], rwnd);
        BinaryPrimitives.WriteUInt16BigEndian(cookie[20..], outbound);
        BinaryPrimitives.WriteUInt16BigEndian(cookie[22..], inbound);
        BinaryPrimitives.WriteUInt32BigEndian(cookie[24..], (fwd ? 1u : 0) | (reconfig ? 2u : 0));
        BinaryPrimitives.WriteInt64BigEndian(cookie[28..], _time.GetUtcNow().ToUnixTimeMilliseconds());
        HMACSHA256.HashData(_cookieKey, cookie[..CookieBodySize], cookie[CookieBodySize..]);

        var w = new PacketWriter(_packet, _mtu, _options.LocalPort, _options.RemotePort, peerTag);
        var body = w.BeginChunk(ChunkType.InitAck, 0);
        var n = WriteInitBody(body, tag, tsn);
        PacketWriter.WriteParam(body, ref n, ParamType.StateCookie, cookie);
        w.EndChunk(n);
        SendPacket(w);
    }

    private void HandleInitAck(ReadOnlySpan<byte> v)
    {
        if (_state != AssocState.CookieWait) return; // late or duplicate INIT-ACK (RFC 9260 §5.2.3)
        if (!ParseInitBody(v, out var peerTag, out var rwnd, out _, out var inbound, out var peerTsn, out var fwd, out var reconfig, out var cookie)
            || cookie.IsEmpty || cookie.Length > 1024)
        {
            Drop("malformed-init-ack");
            return;
        }
        _pendingPeerTag = peerTag;
        _pendingPeerTsn = peerTsn;
        _pendingPeerRwnd = rwnd;
        _pendingPeerInbound = inbound;
        _pendingForwardTsn = fwd;
        _pendingReconfig = reconfig;
        _cookieToEcho = cookie.ToArray();
        _state = AssocState.CookieEchoed;
        _initRetransmissions = 0;
        SendCookieEcho();
        _t1.Change(Rto, Timeout.InfiniteTimeSpan);
    }

    private void SendCookieEcho()
    {
        var w = new PacketWriter(_packet, _mtu, _options.LocalPort, _options.RemotePort, _pendingPeerTag);
        var v = w.BeginChunk(ChunkType.CookieEcho, 0);
        _cookieToEcho.CopyTo(v);
        w.EndChunk(_cookieToEcho!.Length);
        SendPacket(w);
    }

    /// <summary>COOKIE-ECHO: a valid cookie establishes the association with the tags it carries.</summary>
    private void HandleCookieEcho(ReadOnlySpan<byte> v, uint packetTag)
    {
        if (v.Length != CookieSize) { Drop("bad-cookie"); return; }
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_cookieKey, v[..CookieBodySize], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, v[CookieBodySize..])) { Drop("bad-cookie"); return; }
        var tag = BinaryPrimitives.ReadUInt32BigEndian(v);
        var peerTag = BinaryPrimitives.ReadUInt32BigEndian(v[8..]);
        if (packetTag != tag) { Drop("bad-verification-tag"); return; }
        var age = _time.GetUtcNow().ToUnixTimeMilliseconds() - BinaryPrimitives.ReadInt64BigEndian(v[28..]);
        if (age > _options.CookieLifetime.TotalMilliseconds || age < -5000) { Drop("stale-cookie"); return; }
        if (_state >= AssocState.Established)
        {
            // Our COOKIE-ACK was lost and the peer echoes again: answer again if it is this association.
            if (tag == _localTag && peerTag == _peerTag) SendControl(ChunkType.CookieAck);
            return;
        }
        var flags = BinaryPrimitives.ReadUInt32BigEndian(v[24..]);
        _localTag = tag;
        _initialLocalTsn = BinaryPrimitives.ReadUInt32BigEndian(v[4..]);
        // COOKIE-ACK goes out before anything Establish sends (DCEP opens of channels created early): the peer drops
        // DATA that arrives while it still waits for COOKIE-ACK, and the lost open then waited a whole RTO (1 s)
        _peerTag = peerTag;
        SendControl(ChunkType.CookieAck);
        Establish(peerTag, BinaryPrimitives.ReadUInt32BigEndian(v[12..]), BinaryPrimitives.ReadUInt32BigEndian(v[16..]),
            BinaryPrimitives.ReadUInt16BigEndian(v[22..]), (flags & 1) != 0, (flags & 2) != 0);
    }

    private void HandleCookieAck()
    {
        if (_state != AssocState.CookieEchoed) return;
        Establish(_pendingPeerTag, _pendingPeerTsn, _pendingPeerRwnd, _pendingPeerInbound, _pendingForwardTsn, _pendingReconfig);
    }

    private void Establish(uint peerTag, uint peerTsn, uint peerRwnd, ushort peerInbound, bool forwardTsn, bool reconfig)
    {
        _peerTag = peerTag;
        _peerInboundStreams = peerInbound;
        _peerSupportsForwardTsn = forwardTsn;
        _peerSupportsReconfig = reconfig;
        _state = AssocState.Established;
        _cookieToEcho = null;
        _t1.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        StartOutbound(_initialLocalTsn, peerRwnd);
        StartInbound(peerTsn);
        _heartbeatTimer.Change(_options.HeartbeatInterval, Timeout.InfiniteTimeSpan);
        Log.Established(_logger, forwardTsn, reconfig);
        _metrics.SctpAssociation("established");
        _established.TrySetResult();
        _events.Add(new PendingEvent { Kind = EventKind.AssociationOpen });
        OnEstablishedChannels();
        StartPathMtuSearch();
    }

    private void OnT1()
    {
        if (_state is not (AssocState.CookieWait or AssocState.CookieEchoed)) return;
        if (++_initRetransmissions > _options.MaxInitRetransmissions)
        {
            Terminate($"the peer did not answer {(_state == AssocState.CookieWait ? "INIT" : "COOKIE-ECHO")} after {_options.MaxInitRetransmissions} retransmissions", sendAbort: false, abortReason: null);
            return;
        }
        _rtoTicks = Math.Min(_rtoTicks * 2, Ticks(_options.MaxRto));
        if (_state == AssocState.CookieWait) SendInit(); else SendCookieEcho();
        _t1.Change(Rto, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Sends a packet holding one chunk without a value (COOKIE-ACK, SHUTDOWN-ACK, SHUTDOWN-COMPLETE).</summary>
    private void SendControl(byte type, byte flags = 0)
    {
        var w = new PacketWriter(_packet, _mtu, _options.LocalPort, _options.RemotePort, _peerTag);
        w.BeginChunk(type, flags);
        w.EndChunk(0);
        SendPacket(w);
    }

    private void SendPacket(in PacketWriter w)
    {
        var packet = w.Finish();
        try
        {
            _transport.Send(packet);
            _metrics.SctpBytesSent(packet.Length);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The transport closed; its Closed event ends the association.
        }
    }
}
