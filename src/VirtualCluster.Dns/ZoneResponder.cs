using System.Net;
using System.Net.Sockets;

namespace VirtualCluster.Dns;

/// <summary>
/// Answers one query for one zone, authoritatively: <c>&lt;name&gt;.&lt;zone&gt;</c> A/AAAA with the configured
/// addresses when the record source knows the name, TXT from the source, SOA and NS at the apex, NXDOMAIN (with the
/// SOA, RFC 2308) for unknown names, REFUSED outside the zone (no recursion, RA never set). ANY gets the address
/// records only (RFC 8482), so a small query never draws a large answer. Pure: no I/O, no throwing on any input.
/// </summary>
public sealed class ZoneResponder
{
    private readonly string _zone;
    private readonly string _mailbox;
    private readonly IReadOnlyList<string> _nameServers;
    private readonly IPAddress[] _v4, _v6;
    private readonly uint _ttl;
    private readonly ushort _maxPayload;
    private readonly uint _serial;
    private readonly IDnsRecordSource _records;

    /// <summary>Creates a responder for the zone in <paramref name="options"/> (validate them first).</summary>
    public ZoneResponder(DnsServerOptions options, IDnsRecordSource records, TimeProvider time)
    {
        _zone = options.Zone;
        _mailbox = $"hostmaster.{_zone}";
        _nameServers = options.NameServerNames();
        var addresses = options.AnswerAddresses();
        _v4 = addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork).ToArray();
        _v6 = addresses.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6).ToArray();
        _ttl = (uint)options.Ttl.TotalSeconds;
        _maxPayload = (ushort)options.MaxUdpPayload;
        // Serial: the start time in seconds. Answers come from live state, not a zone file, so secondaries (which
        // would transfer the zone on a higher serial) are not supported; the serial only has to be plausible.
        _serial = (uint)time.GetUtcNow().ToUnixTimeSeconds();
        _records = records;
    }

    /// <summary>The rcode of the last <see cref="Respond"/>, for metrics; -1 when the packet was dropped.</summary>
    public readonly record struct Outcome(int Length, int Rcode, string? Problem);

    /// <summary>
    /// Writes the response to <paramref name="query"/> into <paramref name="response"/>; Length 0 means send nothing.
    /// The response is at most 512 bytes, or the asker's EDNS size capped at <see cref="DnsServerOptions.MaxUdpPayload"/>.
    /// </summary>
    public Outcome Respond(ReadOnlySpan<byte> query, Span<byte> response)
    {
        var parsed = DnsQueryParser.Parse(query);
        if (parsed.Outcome == ParseOutcome.Drop) return new(0, -1, parsed.Problem);
        if (parsed.Outcome == ParseOutcome.Error)
        {
            var bare = new DnsResponseWriter(response, Math.Min(512, query.Length));
            return new(bare.WriteHeaderOnly(parsed.Id, parsed.Flags, parsed.Rcode), (int)parsed.Rcode, parsed.Problem);
        }
        var q = parsed.Query!;
        var limit = q.Edns ? Math.Min(q.UdpPayloadSize, _maxPayload) : 512;
        var w = new DnsResponseWriter(response, limit);
        if (!w.Begin(query, q.QuestionEnd)) return new(0, -1, "the question does not fit in a response");
        if (q.Edns && q.EdnsVersion != 0)
        {
            w.AddOpt(_maxPayload, DnsRcode.BadVers);
            return new(w.Finish(q, DnsRcode.BadVers, authoritative: false), (int)DnsRcode.BadVers, $"EDNS version {q.EdnsVersion}");
        }
        var (rcode, authoritative) = Answer(ref w, q);
        if (q.Edns) w.AddOpt(_maxPayload, rcode);
        return new(w.Finish(q, rcode, authoritative), (int)rcode, null);
    }

    private (DnsRcode, bool) Answer(ref DnsResponseWriter w, DnsQuery q)
    {
        if (q.Class != 1 && q.Class != 255) return (DnsRcode.Refused, false); // only IN (and ANY class) is served
        string relative;
        if (q.Name == _zone) relative = "";
        else if (q.Name.Length > _zone.Length && q.Name.EndsWith(_zone, StringComparison.Ordinal) && q.Name[^(_zone.Length + 1)] == '.')
            relative = q.Name[..^(_zone.Length + 1)];
        else return (DnsRcode.Refused, false); // not ours, and we never recurse

        var type = (DnsType)q.Type;
        var apex = relative.Length == 0;
        var isNameServer = !apex && _nameServers.Contains(q.Name);
        var hasAddress = apex || isNameServer || (!relative.Contains('?') && _records.HasAddress(relative));
        var texts = relative.Contains('?') ? [] : _records.FindText(relative);
        if (!hasAddress && texts.Count == 0)
        {
            AddSoa(ref w, DnsResponseWriter.Section.Authority);
            return (DnsRcode.NxDomain, true);
        }
        switch (type)
        {
            case DnsType.A when hasAddress:
                foreach (var a in _v4) w.AddAddress(DnsResponseWriter.Section.Answer, null, a, _ttl);
                break;
            case DnsType.AAAA when hasAddress:
                foreach (var a in _v6) w.AddAddress(DnsResponseWriter.Section.Answer, null, a, _ttl);
                break;
            case DnsType.ANY when hasAddress:
                // RFC 8482: one RRset, not everything, so ANY is no amplifier.
                foreach (var a in _v4.Length > 0 ? _v4 : _v6) w.AddAddress(DnsResponseWriter.Section.Answer, null, a, _ttl);
                break;
            case DnsType.TXT:
                // Challenges change within seconds: a 1 s TTL keeps resolvers from holding on to an old one.
                foreach (var t in texts.Take(8)) w.AddText(DnsResponseWriter.Section.Answer, null, 1, t);
                break;
            case DnsType.SOA when apex:
                AddSoa(ref w, DnsResponseWriter.Section.Answer);
                break;
            case DnsType.NS when apex:
                foreach (var ns in _nameServers) w.AddName(DnsResponseWriter.Section.Answer, null, DnsType.NS, _ttl, ns);
                // Glue for name servers inside the zone, when room is left.
                foreach (var ns in _nameServers.Where(n => n.EndsWith("." + _zone, StringComparison.Ordinal)))
                    foreach (var a in _v4.Concat(_v6)) w.AddAddress(DnsResponseWriter.Section.Additional, ns, a, _ttl);
                break;
        }
        // NODATA (the name exists, not this type): the SOA tells resolvers how long to remember that (RFC 2308 2.2).
        if (w.AnswerCount == 0 && !w.Truncated) AddSoa(ref w, DnsResponseWriter.Section.Authority);
        return (DnsRcode.NoError, true);
    }

    private void AddSoa(ref DnsResponseWriter w, DnsResponseWriter.Section section) =>
        w.AddSoa(section, _zone, _ttl, _nameServers[0], _mailbox, _serial, refresh: 3600, retry: 600, expire: 86400, minimum: _ttl);
}
