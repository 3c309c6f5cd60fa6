using System.Buffers.Binary;
using System.Security.Cryptography;

namespace VirtualCluster.P2P.Sctp;

/// <summary>
/// Packetization Layer Path MTU Discovery (RFC 8899 §6.2 for SCTP, RFC 8261 §5 over DTLS): once established, probe
/// packets of a HEARTBEAT and a PAD chunk (RFC 4820) test larger sizes, from the transport's limit down a short
/// ladder; a HEARTBEAT-ACK proves the whole path (and the peer's stack) carried that size, and packets grow to it.
/// Probes that go unanswered leave the base size (what the transport guarantees) in use.
/// </summary>
/// <remarks>
/// DATA chunks stay at most what fits a base-size packet; larger packets only bundle more of them. So when the path
/// shrinks (a T3 timeout while using a probed size, the black-hole signal of RFC 8899 §4.3) every chunk in flight
/// still fits a base-size packet: the association falls back at once and searches again at once; probes carry no
/// data, so a path that still carries the size (the timeout was plain loss) gets it back after one round trip, and
/// one that does not costs only the unanswered probes. A search that ends below the largest size is repeated after
/// <see cref="SctpOptions.PathMtuRaiseInterval"/> (RFC 8899 PMTU_RAISE_TIMER).
/// </remarks>
public sealed partial class SctpAssociation
{
    /// <summary>RFC 8899 MAX_PROBES: a size counts as not carried after this many unanswered probes.</summary>
    private const int MaxProbes = 3;
    private const ushort ProbeInfoLength = 24;
    private readonly int _baseMtu;
    private readonly ITimer _probeTimer;
    private int[] _probeLadder = [];
    private int _probeStep, _probeCount;
    private ulong _probeNonce;
    private bool _probing;

    /// <summary>The SCTP packet size in use: the transport's base size until a PMTU probe confirms a larger one.</summary>
    public int PathMtu { get { lock (_gate) return _mtu; } }

    /// <summary>PMTU probes sent so far (each a HEARTBEAT padded to the size it tests).</summary>
    public long PathMtuProbesSent { get { lock (_gate) return _probesSent; } }
    private long _probesSent;

    private int MaxDataPayload => _baseMtu - PacketWriter.CommonHeaderSize - DataHeaderSize;

    /// <summary>Sizes to try, largest first: the transport's limit, a jumbo frame, an Ethernet frame (IPv6, TURN, DTLS taken off).</summary>
    private static int[] Ladder(int limit, int baseMtu) =>
        new[] { limit, 9000 - 48 - 4 - 37, 1500 - 48 - 4 - 37 }.Select(s => s & ~3).Where(s => s > baseMtu && s <= limit).Distinct().OrderDescending().ToArray();

    /// <summary>Starts a search from the top of the ladder (at establishment, and again after a black hole).</summary>
    private void StartPathMtuSearch()
    {
        if (!_options.PathMtuDiscovery || _state != AssocState.Established) return;
        // the transport's limit may have grown since construction (DTLS takes over its record layer after the handshake)
        var limit = Math.Min(_transport.MaxProbePacketSize, 65535);
        if (_packet.Length < limit) _packet = new byte[limit];
        _probeLadder = Ladder(limit, _baseMtu);
        if (_probeLadder.Length == 0) return;
        _probeStep = 0;
        _probeCount = 0;
        _probing = true;
        SendProbe();
    }

    private void SendProbe()
    {
        var size = _probeLadder[_probeStep];
        _probeNonce = BinaryPrimitives.ReadUInt64BigEndian(RandomNumberGenerator.GetBytes(8));
        var w = new PacketWriter(_packet, size, _options.LocalPort, _options.RemotePort, _peerTag);
        var v = w.BeginChunk(ChunkType.Heartbeat, 0);
        BinaryPrimitives.WriteUInt16BigEndian(v, ParamType.HeartbeatInfo);
        BinaryPrimitives.WriteUInt16BigEndian(v[2..], ProbeInfoLength);
        BinaryPrimitives.WriteInt64BigEndian(v[4..], _time.GetTimestamp());
        BinaryPrimitives.WriteUInt64BigEndian(v[12..], _probeNonce);
        BinaryPrimitives.WriteInt32BigEndian(v[20..], size);
        w.EndChunk(ProbeInfoLength);
        // PAD (RFC 4820) fills the packet to exactly the size under test; its value is ignored by the receiver
        var pad = w.BeginChunk(ChunkType.Pad, 0);
        var padLength = w.Remaining - 4;
        pad[..padLength].Clear();
        w.EndChunk(padLength);
        _probeCount++;
        _probesSent++;
        SendPacket(w);
        var timeout = Rto < ProbeTimeoutFloor ? ProbeTimeoutFloor : Rto;
        _probeTimer.Change(timeout, Timeout.InfiniteTimeSpan);
    }

    private static readonly TimeSpan ProbeTimeoutFloor = TimeSpan.FromMilliseconds(100);

    private void OnProbeTimer()
    {
        if (_state != AssocState.Established) return;
        if (_probeCount >= MaxProbes)
        {
            // this size is not carried; try the next smaller one
            _probeStep++;
            _probeCount = 0;
            if (_probeStep >= _probeLadder.Length)
            {
                _probing = false;
                Log.PathMtu(_logger, _mtu, "no larger probe was answered");
                _probeTimer.Change(_options.PathMtuRaiseInterval, Timeout.InfiniteTimeSpan);
                return;
            }
        }
        SendProbe();
    }

    /// <summary>A HEARTBEAT-ACK whose info is a probe's: true when it was one (answered or stale).</summary>
    private bool HandleProbeAck(ReadOnlySpan<byte> info)
    {
        if (info.Length < ProbeInfoLength || BinaryPrimitives.ReadUInt16BigEndian(info[2..]) != ProbeInfoLength) return false;
        if (!_probing || BinaryPrimitives.ReadUInt64BigEndian(info[12..]) != _probeNonce) return true;
        var size = BinaryPrimitives.ReadInt32BigEndian(info[20..]);
        if (size != _probeLadder[_probeStep]) return true;
        _probing = false;
        _mtu = size;
        Log.PathMtu(_logger, size, "a probe of this size was answered");
        // below the top of the ladder: try the larger sizes again later (the path may change)
        _probeTimer.Change(_probeStep == 0 ? Timeout.InfiniteTimeSpan : _options.PathMtuRaiseInterval, Timeout.InfiniteTimeSpan);
        return true;
    }

    /// <summary>T3 expired while using a probed size: treat it as a black hole (RFC 8899 §4.3), back to the base size.</summary>
    private void OnBlackHoleSuspected()
    {
        if (_mtu == _baseMtu) return;
        Log.PathMtu(_logger, _baseMtu, $"a retransmission timeout at {_mtu} bytes: back to the base size while probing again");
        _mtu = _baseMtu;
        StartPathMtuSearch();
    }

    /// <summary>The probe timer: a probe went unanswered, or (no search running) it is time to search again.</summary>
    private void OnProbeOrRaiseTimer()
    {
        if (_probing) OnProbeTimer();
        else StartPathMtuSearch();
    }
}
