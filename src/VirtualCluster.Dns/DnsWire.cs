namespace VirtualCluster.Dns;

/// <summary>Record types this responder knows (RFC 1035 3.2.2, RFC 3596, RFC 6891).</summary>
public enum DnsType : ushort
{
    /// <summary>IPv4 address.</summary>
    A = 1,
    /// <summary>Name server.</summary>
    NS = 2,
    /// <summary>Start of authority.</summary>
    SOA = 6,
    /// <summary>Text (ACME DNS-01 challenges).</summary>
    TXT = 16,
    /// <summary>IPv6 address.</summary>
    AAAA = 28,
    /// <summary>EDNS pseudo-record.</summary>
    OPT = 41,
    /// <summary>Any type (answered minimally, RFC 8482).</summary>
    ANY = 255,
}

/// <summary>Response codes (RFC 1035 4.1.1; BADVERS from RFC 6891 is extended).</summary>
public enum DnsRcode
{
    /// <summary>No error.</summary>
    NoError = 0,
    /// <summary>The query was malformed.</summary>
    FormErr = 1,
    /// <summary>The server failed.</summary>
    ServFail = 2,
    /// <summary>The name does not exist.</summary>
    NxDomain = 3,
    /// <summary>The operation is not implemented.</summary>
    NotImp = 4,
    /// <summary>Refused (a name outside the zone: no recursion).</summary>
    Refused = 5,
    /// <summary>EDNS version not supported (extended rcode 16).</summary>
    BadVers = 16,
}

/// <summary>A parsed query: the header fields a response echoes, its one question, and its EDNS record if any.</summary>
/// <param name="Name">The question's name in lower case without the final dot; labels holding bytes that no host name has carry '?'.</param>
/// <param name="QuestionEnd">Offset just past the question: the response copies bytes 12..QuestionEnd verbatim (keeping the asker's letter case).</param>
internal sealed record DnsQuery(ushort Id, bool RecursionDesired, bool CheckingDisabled, string Name, ushort Type, ushort Class, int QuestionEnd,
    bool Edns, ushort UdpPayloadSize, byte EdnsVersion, bool DnssecOk);

/// <summary>What to do with a packet.</summary>
internal enum ParseOutcome
{
    /// <summary>A well-formed query.</summary>
    Query,
    /// <summary>Not worth an answer: shorter than a header, or itself a response (answering those makes reflection loops).</summary>
    Drop,
    /// <summary>Answer with a bare header carrying <see cref="DnsQueryParser.Result.Rcode"/>.</summary>
    Error,
}

/// <summary>Reads a query packet (RFC 1035 4.1). Every length is checked against the packet; nothing here throws.</summary>
internal static class DnsQueryParser
{
    public const int HeaderLength = 12;
    /// <summary>Longest name on the wire (RFC 1035 2.3.4).</summary>
    public const int MaxNameLength = 255;

    public readonly record struct Result(ParseOutcome Outcome, DnsQuery? Query, ushort Id, ushort Flags, DnsRcode Rcode, string? Problem);

    public static Result Parse(ReadOnlySpan<byte> p)
    {
        if (p.Length < HeaderLength) return new(ParseOutcome.Drop, null, 0, 0, 0, $"{p.Length} bytes is shorter than a DNS header");
        var id = ReadUInt16(p, 0);
        var flags = ReadUInt16(p, 2);
        if ((flags & 0x8000) != 0) return new(ParseOutcome.Drop, null, id, flags, 0, "a response, not a query");
        Result Fail(DnsRcode rcode, string problem) => new(ParseOutcome.Error, null, id, flags, rcode, problem);
        var opcode = (flags >> 11) & 0xF;
        if (opcode != 0) return Fail(DnsRcode.NotImp, $"opcode {opcode} (only standard queries are answered)");
        var qdCount = ReadUInt16(p, 4);
        var anCount = ReadUInt16(p, 6);
        var nsCount = ReadUInt16(p, 8);
        var arCount = ReadUInt16(p, 10);
        if (qdCount != 1) return Fail(DnsRcode.FormErr, $"{qdCount} questions (exactly one is answered)");
        var offset = HeaderLength;
        if (!TryReadName(p, ref offset, out var name, out var problem)) return Fail(DnsRcode.FormErr, problem!);
        if (offset + 4 > p.Length) return Fail(DnsRcode.FormErr, "the question ends before its type and class");
        var type = ReadUInt16(p, offset);
        var @class = ReadUInt16(p, offset + 2);
        offset += 4;
        var questionEnd = offset;
        bool edns = false, dnssecOk = false;
        ushort payload = 512;
        byte version = 0;
        // EDNS (RFC 6891): an OPT record in the additional section. Only a plain query (no answer or authority records) is searched.
        if (arCount > 0 && anCount == 0 && nsCount == 0)
        {
            for (var i = 0; i < arCount; i++)
            {
                if (!TryReadName(p, ref offset, out var rrName, out problem)) return Fail(DnsRcode.FormErr, $"additional record {i}: {problem}");
                if (offset + 10 > p.Length) return Fail(DnsRcode.FormErr, $"additional record {i} is cut short");
                var rrType = ReadUInt16(p, offset);
                var rrClass = ReadUInt16(p, offset + 2);
                var ttl = ReadUInt32(p, offset + 4);
                var rdLength = ReadUInt16(p, offset + 8);
                offset += 10;
                if (offset + rdLength > p.Length) return Fail(DnsRcode.FormErr, $"additional record {i} claims {rdLength} bytes of data past the packet's end");
                offset += rdLength;
                if (rrType != (ushort)DnsType.OPT) continue;
                if (edns || rrName.Length != 0) return Fail(DnsRcode.FormErr, "more than one OPT record, or one not at the root name");
                edns = true;
                payload = Math.Max((ushort)512, rrClass);
                version = (byte)(ttl >> 16);
                dnssecOk = (ttl & 0x8000) != 0;
            }
        }
        var query = new DnsQuery(id, (flags & 0x0100) != 0, (flags & 0x0010) != 0, name, type, @class, questionEnd, edns, payload, version, dnssecOk);
        return new(ParseOutcome.Query, query, id, flags, DnsRcode.NoError, null);
    }

    /// <summary>Reads an uncompressed name. Compression pointers are refused: a query's one question never needs them.</summary>
    private static bool TryReadName(ReadOnlySpan<byte> p, ref int offset, out string name, out string? problem)
    {
        name = "";
        problem = null;
        Span<char> chars = stackalloc char[MaxNameLength];
        var length = 0;
        var wire = 0;
        while (true)
        {
            if (offset >= p.Length) { problem = "a name runs past the packet's end"; return false; }
            var labelLength = p[offset];
            if ((labelLength & 0xC0) != 0) { problem = $"label byte 0x{labelLength:x2} (compression pointers and extended labels are not accepted in a query)"; return false; }
            wire += labelLength + 1;
            if (wire > MaxNameLength) { problem = $"a name longer than {MaxNameLength} bytes"; return false; }
            offset++;
            if (labelLength == 0) break;
            if (offset + labelLength > p.Length) { problem = "a label runs past the packet's end"; return false; }
            if (length > 0) chars[length++] = '.';
            foreach (var b in p.Slice(offset, labelLength))
                chars[length++] = b is >= (byte)'A' and <= (byte)'Z' ? (char)(b + 32) : b is > 0x20 and < 0x7F and not (byte)'.' ? (char)b : '?';
            offset += labelLength;
        }
        name = new string(chars[..length]);
        return true;
    }

    public static ushort ReadUInt16(ReadOnlySpan<byte> p, int offset) => (ushort)((p[offset] << 8) | p[offset + 1]);

    private static uint ReadUInt32(ReadOnlySpan<byte> p, int offset) => ((uint)ReadUInt16(p, offset) << 16) | ReadUInt16(p, offset + 2);
}
