using System.Buffers.Binary;
using System.Text;

namespace VirtualCluster.P2P.Sctp;

public sealed partial class SctpAssociation
{
    /// <summary>Entry point of every received packet. Hostile input is dropped (and counted), never thrown.</summary>
    private void OnPacket(ReadOnlySpan<byte> packet)
    {
        lock (_gate)
        {
            if (_state == AssocState.Ended) return;
            try
            {
                ProcessPacket(packet);
            }
            catch (Exception e)
            {
                // A bug must not take down the transport's receive loop; the packet is dropped and logged.
                Log.InternalError(_logger, e);
                Drop("internal-error");
            }
        }
        Dispatch();
    }

    private void ProcessPacket(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < PacketWriter.CommonHeaderSize + 4) { Drop("short-packet"); return; }
        if (BinaryPrimitives.ReadUInt32LittleEndian(packet[8..]) != Crc32c.ComputePacket(packet)) { Drop("bad-checksum"); return; }
        if (BinaryPrimitives.ReadUInt16BigEndian(packet) != _options.RemotePort || BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) != _options.LocalPort)
        {
            Drop("wrong-port");
            return;
        }
        _metrics.SctpBytesReceived(packet.Length);
        var tag = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
        var chunks = packet[PacketWriter.CommonHeaderSize..];
        var first = chunks[0];

        // Verification tag rules (RFC 9260 §8.5.1).
        if (first == ChunkType.Init)
        {
            var r = new ChunkReader(chunks);
            if (tag != 0 || !r.Next(out var init) || r.Next(out _)) { Drop("bad-init-packet"); return; }
            HandleInit(init.Value);
            return;
        }
        if (first == ChunkType.CookieEcho)
        {
            var r = new ChunkReader(chunks);
            if (!r.Next(out var echo)) { Drop("malformed-chunk"); return; }
            HandleCookieEcho(echo.Value, tag);
            if (_state < AssocState.Established || tag != _localTag) return;
            chunks = chunks[((4 + echo.Value.Length + 3) & ~3)..];
            if (chunks.IsEmpty) { AfterPacket(); return; }
        }
        else if (first is ChunkType.Abort or ChunkType.ShutdownComplete && (chunks[1] & 1) != 0)
        {
            if (tag != _peerTag || _state < AssocState.CookieWait) { Drop("bad-verification-tag"); return; }
        }
        else if (tag != _localTag || _state == AssocState.Closed)
        {
            Drop("bad-verification-tag");
            return;
        }

        var reader = new ChunkReader(chunks);
        while (_state != AssocState.Ended && reader.Next(out var chunk))
        {
            if (!HandleChunk(chunk)) break;
        }
        if (reader.Malformed) Drop("malformed-chunk");
        if (_state != AssocState.Ended) AfterPacket();
    }

    /// <summary>Handles one chunk; false stops processing the rest of the packet.</summary>
    private bool HandleChunk(in Chunk chunk)
    {
        var established = _state >= AssocState.Established;
        switch (chunk.Type)
        {
            case ChunkType.Data when established: HandleData(chunk.Flags, chunk.Value); break;
            case ChunkType.Sack when established: HandleSack(chunk.Value); break;
            case ChunkType.ForwardTsn when established: HandleForwardTsn(chunk.Value); break;
            case ChunkType.ReConfig when established: HandleReconfig(chunk.Value); break;
            case ChunkType.Heartbeat when established: SendHeartbeatAck(chunk.Value); break;
            case ChunkType.HeartbeatAck when established: HandleHeartbeatAck(chunk.Value); break;
            case ChunkType.InitAck: HandleInitAck(chunk.Value); return false;
            case ChunkType.CookieAck: HandleCookieAck(); break;
            case ChunkType.Abort: HandleAbort(chunk.Value); return false;
            case ChunkType.Shutdown when established: HandleShutdown(chunk.Value); break;
            case ChunkType.ShutdownAck: HandleShutdownAck(); return false;
            case ChunkType.ShutdownComplete: HandleShutdownComplete(); return false;
            case ChunkType.Error: Log.PeerError(_logger, DescribeCause(chunk.Value)); break;
            case ChunkType.Pad: break; // fills a PMTU probe (RFC 4820); nothing to do
            case ChunkType.Init or ChunkType.CookieEcho: Drop("bundled-init"); return false;
            default:
                if (chunk.Type is ChunkType.Data or ChunkType.Sack or ChunkType.ForwardTsn or ChunkType.ReConfig or ChunkType.Heartbeat or ChunkType.HeartbeatAck or ChunkType.Shutdown)
                {
                    Drop("chunk-before-established");
                    return false;
                }
                // Unknown chunk: the two high bits of the type say whether to skip it or stop (RFC 9260 §3.2).
                Drop("unknown-chunk");
                return (chunk.Type & 0x80) != 0;
        }
        return true;
    }

    private void HandleAbort(ReadOnlySpan<byte> causes)
    {
        var reason = DescribeCause(causes);
        Terminate(reason.Length == 0 ? "the peer aborted the association" : $"the peer aborted the association: {reason}", sendAbort: false, abortReason: null);
    }

    /// <summary>Reads the first error cause of an ABORT or ERROR chunk into text (user-initiated aborts carry the peer's reason).</summary>
    private static string DescribeCause(ReadOnlySpan<byte> causes)
    {
        if (causes.Length < 4) return "";
        var code = BinaryPrimitives.ReadUInt16BigEndian(causes);
        var length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(causes[2..]), causes.Length);
        var info = length > 4 ? causes[4..length] : default;
        return code switch
        {
            12 => info.IsEmpty ? "user-initiated abort" : $"user-initiated abort ({Printable(info)})",
            13 => "protocol violation" + (info.IsEmpty ? "" : $" ({Printable(info)})"),
            1 => "invalid stream identifier",
            3 => "stale cookie",
            4 => "out of resource",
            9 => "no user data",
            _ => $"error cause {code}",
        };
    }

    private static string Printable(ReadOnlySpan<byte> text)
    {
        var s = Encoding.UTF8.GetString(text[..Math.Min(text.Length, 200)]);
        return string.Concat(s.Select(c => char.IsControl(c) ? '?' : c));
    }

    private void SendAbort(string? reason)
    {
        var w = new PacketWriter(_packet, _mtu, _options.LocalPort, _options.RemotePort, _peerTag);
        var v = w.BeginChunk(ChunkType.Abort, 0);
        var text = Encoding.UTF8.GetBytes(reason ?? "");
        var len = Math.Min(text.Length, 200);
        BinaryPrimitives.WriteUInt16BigEndian(v, 12);
        BinaryPrimitives.WriteUInt16BigEndian(v[2..], (ushort)(4 + len));
        text.AsSpan(0, len).CopyTo(v[4..]);
        var padded = (4 + len + 3) & ~3;
        v[(4 + len)..padded].Clear();
        w.EndChunk(padded);
        SendPacket(w);
    }

    private void Drop(string reason)
    {
        _metrics.Dropped("sctp-" + reason);
        Log.Dropped(_logger, reason);
    }
}
