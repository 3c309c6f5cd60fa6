using System.Net;
using System.Text;

namespace VirtualCluster.Gateway.Tests.Dns;

/// <summary>Builds queries and reads responses by hand (RFC 1035 4.1), independent of the code under test.</summary>
internal static class DnsPackets
{
    public static byte[] Query(string name, ushort type, ushort id = 0x1234, ushort? ednsPayload = null, byte ednsVersion = 0, ushort flags = 0x0100)
    {
        var b = new List<byte> { (byte)(id >> 8), (byte)id, (byte)(flags >> 8), (byte)flags, 0, 1, 0, 0, 0, 0, 0, (byte)(ednsPayload is null ? 0 : 1) };
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            b.Add((byte)label.Length);
            b.AddRange(Encoding.ASCII.GetBytes(label));
        }
        b.Add(0);
        b.AddRange([(byte)(type >> 8), (byte)type, 0, 1]);
        if (ednsPayload is { } size) b.AddRange([0, 0, 41, (byte)(size >> 8), (byte)size, 0, ednsVersion, 0, 0, 0, 0]);
        return b.ToArray();
    }

    public sealed record Record(string Name, ushort Type, uint Ttl, byte[] Data, string Text);

    public sealed record Response(ushort Id, ushort Flags, int Rcode, List<Record> Answers, List<Record> Authority, List<Record> Additional)
    {
        public bool Authoritative => (Flags & 0x0400) != 0;
        public bool Truncated => (Flags & 0x0200) != 0;
        public bool RecursionAvailable => (Flags & 0x0080) != 0;
    }

    public static Response Read(ReadOnlySpan<byte> p)
    {
        var id = U16(p, 0);
        var flags = U16(p, 2);
        var offset = 12;
        for (var i = 0; i < U16(p, 4); i++) { ReadName(p, ref offset); offset += 4; }
        var sections = new List<Record>[3];
        for (var s = 0; s < 3; s++)
        {
            sections[s] = [];
            for (var i = 0; i < U16(p, 6 + 2 * s); i++)
            {
                var name = ReadName(p, ref offset);
                var type = U16(p, offset);
                var ttl = ((uint)U16(p, offset + 4) << 16) | U16(p, offset + 6);
                var length = U16(p, offset + 8);
                offset += 10;
                var data = p.Slice(offset, length).ToArray();
                var rdOffset = offset;
                var text = type switch
                {
                    1 or 28 => new IPAddress(data).ToString(),
                    2 => ReadName(p, ref rdOffset),
                    6 => ReadName(p, ref rdOffset) + " " + ReadName(p, ref rdOffset),
                    16 => Encoding.UTF8.GetString(data, 1, data[0]),
                    _ => "",
                };
                offset += length;
                sections[s].Add(new Record(name, type, ttl, data, text));
            }
        }
        Assert.Equal(p.Length, offset);
        return new Response(id, flags, flags & 0xF, sections[0], sections[1], sections[2]);
    }

    private static string ReadName(ReadOnlySpan<byte> p, ref int offset)
    {
        var labels = new List<string>();
        var at = offset;
        var jumped = false;
        while (true)
        {
            var length = p[at];
            if ((length & 0xC0) == 0xC0)
            {
                if (!jumped) offset = at + 2;
                jumped = true;
                at = ((length & 0x3F) << 8) | p[at + 1];
                continue;
            }
            at++;
            if (length == 0) break;
            labels.Add(Encoding.ASCII.GetString(p.Slice(at, length)));
            at += length;
        }
        if (!jumped) offset = at;
        return string.Join('.', labels);
    }

    private static ushort U16(ReadOnlySpan<byte> p, int offset) => (ushort)((p[offset] << 8) | p[offset + 1]);
}

/// <summary>A record source with fixed names.</summary>
internal sealed class FixedRecords(params string[] names) : VirtualCluster.Dns.IDnsRecordSource
{
    public System.Collections.Concurrent.ConcurrentDictionary<string, string[]> Texts { get; } = new();

    public bool HasAddress(string relativeName) => names.Contains(relativeName);

    public IReadOnlyList<string> FindText(string relativeName) => Texts.GetValueOrDefault(relativeName) ?? [];
}
