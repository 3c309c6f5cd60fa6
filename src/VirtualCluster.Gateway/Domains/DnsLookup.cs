using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace VirtualCluster.Gateway.Domains;

/// <summary>
/// Looks up a name's A and AAAA records, either through the system's resolver or with a plain DNS query (UDP,
/// recursion desired) to one server (<see cref="GatewayOptions.DomainResolver"/>). The gateway uses it only to see
/// where a custom domain points, so it reads the answer section's addresses and nothing else.
/// </summary>
public sealed class DnsLookup(IPEndPoint? server, TimeSpan timeout)
{
    /// <summary>The addresses <paramref name="name"/> resolves to; empty when it has none.</summary>
    /// <exception cref="DnsLookupException">The name does not exist, or the server did not answer or answered an error.</exception>
    public async Task<IReadOnlyList<IPAddress>> ResolveAsync(string name, CancellationToken ct)
    {
        if (server is null)
        {
            try { return await System.Net.Dns.GetHostAddressesAsync(name, ct).ConfigureAwait(false); }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.HostNotFound) { throw new DnsLookupException($"{name} does not exist (NXDOMAIN)"); }
            catch (SocketException e) { throw new DnsLookupException($"the system resolver failed for {name}: {e.Message}"); }
        }
        var v4 = QueryAsync(name, 1, ct);
        var v6 = QueryAsync(name, 28, ct);
        var a = await v4.ConfigureAwait(false);
        var aaaa = await v6.ConfigureAwait(false);
        return [.. a, .. aaaa];
    }

    private async Task<List<IPAddress>> QueryAsync(string name, ushort type, CancellationToken ct)
    {
        var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
        var query = BuildQuery(id, name, type);
        using var socket = new Socket(server!.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        var buffer = new byte[4096];
        try
        {
            await socket.SendToAsync(query, server, deadline.Token).ConfigureAwait(false);
            while (true)
            {
                var received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0), deadline.Token).ConfigureAwait(false);
                if (!received.RemoteEndPoint.Equals(server)) continue; // only the server asked may answer
                if (ParseAnswer(buffer.AsSpan(0, received.ReceivedBytes), id, name, out var addresses) is { } problem) throw new DnsLookupException(problem);
                if (addresses is null) continue; // not the answer to this query
                return addresses;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new DnsLookupException($"the resolver {server} did not answer for {name} within {timeout.TotalSeconds:0.#} s");
        }
        catch (SocketException e)
        {
            throw new DnsLookupException($"cannot ask the resolver {server}: {e.Message}");
        }
    }

    /// <summary>A query for <paramref name="name"/> (type A=1 or AAAA=28, class IN) with recursion desired.</summary>
    internal static byte[] BuildQuery(ushort id, string name, ushort type)
    {
        var labels = name.TrimEnd('.').Split('.');
        var bytes = new byte[12 + labels.Sum(l => l.Length + 1) + 1 + 4];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, id);
        bytes[2] = 0x01; // RD
        bytes[5] = 1; // QDCOUNT
        var at = 12;
        foreach (var label in labels)
        {
            bytes[at++] = (byte)label.Length;
            at += Encoding.ASCII.GetBytes(label, bytes.AsSpan(at));
        }
        bytes[at++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at), type);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at + 2), 1);
        return bytes;
    }

    /// <summary>
    /// Reads the A/AAAA records of a response to query <paramref name="id"/>. Returns a problem for an error answer,
    /// null with <paramref name="addresses"/> null for a packet that is not the answer (wrong id, not a response,
    /// malformed), and null with the addresses otherwise.
    /// </summary>
    internal static string? ParseAnswer(ReadOnlySpan<byte> p, ushort id, string name, out List<IPAddress>? addresses)
    {
        addresses = null;
        if (p.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(p) != id || (p[2] & 0x80) == 0) return null;
        var rcode = p[3] & 0x0F;
        if (rcode == 3) return $"{name} does not exist (NXDOMAIN)";
        if (rcode != 0) return $"the resolver answered error {rcode} for {name}";
        var questions = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        var answers = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
        var at = 12;
        for (var i = 0; i < questions; i++)
        {
            if (!SkipName(p, ref at) || at + 4 > p.Length) return null;
            at += 4;
        }
        var found = new List<IPAddress>();
        for (var i = 0; i < answers; i++)
        {
            if (!SkipName(p, ref at) || at + 10 > p.Length) return null;
            var type = BinaryPrimitives.ReadUInt16BigEndian(p[at..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(p[(at + 8)..]);
            at += 10;
            if (at + length > p.Length) return null;
            if ((type == 1 && length == 4) || (type == 28 && length == 16)) found.Add(new IPAddress(p.Slice(at, length)));
            at += length;
        }
        addresses = found;
        return null;
    }

    /// <summary>Steps over a (possibly compressed) name; false when it runs off the packet.</summary>
    private static bool SkipName(ReadOnlySpan<byte> p, ref int at)
    {
        for (var steps = 0; steps < 128 && at < p.Length; steps++)
        {
            var length = p[at];
            if (length == 0) { at++; return true; }
            if ((length & 0xC0) == 0xC0) { at += 2; return at <= p.Length; }
            if ((length & 0xC0) != 0) return false;
            at += 1 + length;
        }
        return false;
    }
}

/// <summary>A lookup that found no address: the name does not exist, or the resolver failed.</summary>
public sealed class DnsLookupException(string message) : Exception(message);
