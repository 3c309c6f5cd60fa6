using System.Net;
using System.Text;

namespace VirtualCluster.Dns;

/// <summary>
/// Writes a response into a buffer no larger than the asker accepts (512 bytes, or its EDNS payload size up to our
/// own limit). A record that does not fit is left out; in the answer section that also sets TC (RFC 2181 9), so a
/// response is never larger than the limit, whatever the zone holds.
/// </summary>
internal ref struct DnsResponseWriter
{
    /// <summary>Offset of the question's name in every message: answers about it point there (RFC 1035 4.1.4).</summary>
    private const ushort QuestionNamePointer = 0xC000 | DnsQueryParser.HeaderLength;

    private readonly Span<byte> _buffer;
    private readonly int _limit;
    private int _length;
    private int _answers, _authority, _additional;
    private bool _truncated;

    public DnsResponseWriter(Span<byte> buffer, int limit)
    {
        _buffer = buffer;
        _limit = Math.Min(limit, buffer.Length);
    }

    public readonly bool Truncated => _truncated;

    public readonly int AnswerCount => _answers;

    /// <summary>Header plus the query's question copied verbatim; returns false when even that does not fit.</summary>
    public bool Begin(ReadOnlySpan<byte> query, int questionEnd)
    {
        if (questionEnd > _limit) return false;
        query[..questionEnd].CopyTo(_buffer);
        _length = questionEnd;
        return true;
    }

    /// <summary>A bare header (FORMERR, NOTIMP): no question, so never larger than the query that caused it.</summary>
    public int WriteHeaderOnly(ushort id, ushort queryFlags, DnsRcode rcode)
    {
        if (_limit < DnsQueryParser.HeaderLength) return 0;
        _buffer[..DnsQueryParser.HeaderLength].Clear();
        WriteUInt16(0, id);
        // QR, the query's opcode and RD; rcode below 16 only (a bare header carries no OPT record).
        WriteUInt16(2, (ushort)(0x8000 | (queryFlags & 0x7900) | ((int)rcode & 0xF)));
        return DnsQueryParser.HeaderLength;
    }

    public enum Section { Answer, Authority, Additional }

    public bool AddAddress(Section section, string? name, IPAddress address, uint ttl)
    {
        Span<byte> data = stackalloc byte[16];
        address.TryWriteBytes(data, out var written);
        return Add(section, name, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? DnsType.A : DnsType.AAAA, ttl, data[..written]);
    }

    public bool AddName(Section section, string? name, DnsType type, uint ttl, string target)
    {
        Span<byte> data = stackalloc byte[DnsQueryParser.MaxNameLength];
        var length = EncodeName(target, data);
        return length > 0 && Add(section, name, type, ttl, data[..length]);
    }

    public bool AddSoa(Section section, string? name, uint ttl, string primary, string mailbox, uint serial, uint refresh, uint retry, uint expire, uint minimum)
    {
        Span<byte> data = stackalloc byte[2 * DnsQueryParser.MaxNameLength + 20];
        var length = EncodeName(primary, data);
        var more = EncodeName(mailbox, data[length..]);
        if (length == 0 || more == 0) return false;
        length += more;
        foreach (var value in (ReadOnlySpan<uint>)[serial, refresh, retry, expire, minimum])
        {
            data[length] = (byte)(value >> 24); data[length + 1] = (byte)(value >> 16); data[length + 2] = (byte)(value >> 8); data[length + 3] = (byte)value;
            length += 4;
        }
        return Add(section, name, DnsType.SOA, ttl, data[..length]);
    }

    /// <summary>One TXT record: the text cut into character-strings of at most 255 bytes (RFC 1035 3.3.14).</summary>
    public bool AddText(Section section, string? name, uint ttl, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > 1024) return false; // an ACME token digest is 43 characters: anything this long is a mistake
        Span<byte> data = stackalloc byte[bytes.Length + bytes.Length / 255 + 1];
        var length = 0;
        var rest = bytes.AsSpan();
        do
        {
            var chunk = rest[..Math.Min(255, rest.Length)];
            data[length++] = (byte)chunk.Length;
            chunk.CopyTo(data[length..]);
            length += chunk.Length;
            rest = rest[chunk.Length..];
        } while (rest.Length > 0);
        return Add(section, name, DnsType.TXT, ttl, data[..length]);
    }

    /// <summary>The EDNS OPT record of a response (RFC 6891 6.1.3): our payload size, the extended rcode's high bits.</summary>
    public bool AddOpt(ushort payloadSize, DnsRcode rcode)
    {
        const int size = 11;
        if (_length + size > _limit) return false;
        var o = _length;
        _buffer[o] = 0; // root name
        WriteUInt16(o + 1, (ushort)DnsType.OPT);
        WriteUInt16(o + 3, payloadSize);
        _buffer[o + 5] = (byte)((int)rcode >> 4);
        _buffer[o + 6] = 0; // version 0
        WriteUInt16(o + 7, 0); // no DO: we sign nothing
        WriteUInt16(o + 9, 0);
        _length += size;
        _additional++;
        return true;
    }

    /// <summary>Writes the header's flags and counts; returns the message's length.</summary>
    public int Finish(DnsQuery query, DnsRcode rcode, bool authoritative)
    {
        WriteUInt16(0, query.Id);
        var flags = 0x8000 | (authoritative ? 0x0400 : 0) | (_truncated ? 0x0200 : 0) | (query.RecursionDesired ? 0x0100 : 0)
            | (query.CheckingDisabled ? 0x0010 : 0) | ((int)rcode & 0xF);
        WriteUInt16(2, (ushort)flags); // RA stays 0: no recursion here
        WriteUInt16(4, 1);
        WriteUInt16(6, (ushort)_answers);
        WriteUInt16(8, (ushort)_authority);
        WriteUInt16(10, (ushort)_additional);
        return _length;
    }

    /// <summary>A record; <paramref name="name"/> null means the question's name (a 2-byte pointer).</summary>
    private bool Add(Section section, string? name, DnsType type, uint ttl, scoped ReadOnlySpan<byte> data)
    {
        if (_truncated && section == Section.Answer) return false;
        Span<byte> owner = stackalloc byte[DnsQueryParser.MaxNameLength];
        int ownerLength;
        if (name is null) { owner[0] = QuestionNamePointer >> 8; owner[1] = QuestionNamePointer & 0xFF; ownerLength = 2; }
        else if ((ownerLength = EncodeName(name, owner)) == 0) return false;
        var size = ownerLength + 10 + data.Length;
        if (_length + size > _limit)
        {
            if (section == Section.Answer) _truncated = true;
            return false;
        }
        owner[..ownerLength].CopyTo(_buffer[_length..]);
        var o = _length + ownerLength;
        WriteUInt16(o, (ushort)type);
        WriteUInt16(o + 2, 1); // IN
        WriteUInt16(o + 4, (ushort)(ttl >> 16));
        WriteUInt16(o + 6, (ushort)ttl);
        WriteUInt16(o + 8, (ushort)data.Length);
        data.CopyTo(_buffer[(o + 10)..]);
        _length += size;
        switch (section)
        {
            case Section.Answer: _answers++; break;
            case Section.Authority: _authority++; break;
            default: _additional++; break;
        }
        return true;
    }

    /// <summary>A dotted name as length-prefixed labels; 0 when it is not a valid name (a label of 0 or over 63 bytes, or too long).</summary>
    internal static int EncodeName(string name, Span<byte> into)
    {
        var length = 0;
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.None))
        {
            if (label.Length == 0) return name.Trim('.').Length == 0 && into.Length > 0 ? WriteRoot(into) : 0;
            if (label.Length > 63 || length + label.Length + 2 > Math.Min(into.Length, DnsQueryParser.MaxNameLength)) return 0;
            into[length++] = (byte)label.Length;
            foreach (var c in label)
            {
                if (c > 0x7E) return 0;
                into[length++] = (byte)c;
            }
        }
        into[length++] = 0;
        return length;

        static int WriteRoot(Span<byte> into) { into[0] = 0; return 1; }
    }

    private readonly void WriteUInt16(int offset, ushort value)
    {
        _buffer[offset] = (byte)(value >> 8);
        _buffer[offset + 1] = (byte)value;
    }
}
