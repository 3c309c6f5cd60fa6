using System.Diagnostics;
using System.Text.Json.Nodes;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>What one connection between two homes gave.</summary>
public sealed record NatConnection(string HomeA, string HomeB, bool Connected, bool Relayed, string PairA, string PairB, long MillisecondsA, long MillisecondsB, long WallMilliseconds)
{
    public string Kind => !Connected ? "failed" : Relayed ? "relayed (TURN)" : "direct";
}

/// <summary>One peer-connection setup between two homes: from the offerer's start to the answerer's first message.</summary>
public sealed record PeerConnectionSetup(string HomeA, string HomeB, bool Connected, bool Relayed, string PairA, double Milliseconds,
    long IceMillisecondsA, long ConnectedMillisecondsA, string? Failure)
{
    public string Kind => !Connected ? "failed" : Relayed ? "relayed (TURN)" : "direct";
}

/// <summary>Runs the peer program in two homes of a <see cref="NatLab"/>, signals between them and reports the selected pair.</summary>
public static class NatPeers
{
    public static string[] PeerArgs(bool controlling) =>
    [
        "--role", controlling ? "controlling" : "controlled",
        "--stun", $"{NatLab.PublicAddress}:{NatLab.TurnPort}",
        "--turn", $"{NatLab.PublicAddress}:{NatLab.TurnPort}", "--user", Coturn.User, "--pass", Coturn.Password,
        "--verbose", "--wait-start",
    ];

    /// <summary>Starts both peers, connects them and waits for both outcomes. The caller disposes the peers.</summary>
    public static async Task<(NatConnection Result, PeerProcess A, PeerProcess B)> ConnectAsync(NatLab lab, string homeA, string homeB, TimeSpan timeout)
    {
        var a = PeerProcess.Start(homeA, lab.Homes[homeA].Namespace, PeerArgs(controlling: true));
        var b = PeerProcess.Start(homeB, lab.Homes[homeB].Namespace, PeerArgs(controlling: false));
        try
        {
            return (await RunAsync(a, b, homeA, homeB, timeout), a, b);
        }
        catch
        {
            a.Dispose();
            b.Dispose();
            throw;
        }
    }

    private static async Task<NatConnection> RunAsync(PeerProcess a, PeerProcess b, string homeA, string homeB, TimeSpan timeout)
    {
        // both processes are up before ICE starts, so the times below are ICE setup, not .NET start-up
        await Task.WhenAll(a.WaitForEventAsync(e => (string?)e["event"] == "ready", timeout), b.WaitForEventAsync(e => (string?)e["event"] == "ready", timeout));
        PeerProcess.Connect(a, b);
        var wall = Stopwatch.StartNew();
        a.Send("{\"cmd\":\"start\"}");
        b.Send("{\"cmd\":\"start\"}");
        var results = await Task.WhenAll(a.WaitForConnectedAsync(timeout), b.WaitForConnectedAsync(timeout));
        wall.Stop();
        var (ea, eb) = (results[0], results[1]);
        var connected = Is(ea, "connected") && Is(eb, "connected");
        return new NatConnection(homeA, homeB, connected, connected && ((bool?)ea["relayed"] == true || (bool?)eb["relayed"] == true),
            Describe(ea), Describe(eb), (long?)ea["ms"] ?? -1, (long?)eb["ms"] ?? -1, wall.ElapsedMilliseconds);
    }

    /// <summary>
    /// Peer connections (ICE + DTLS + SCTP + DCEP, the peer program's --pc mode) between two homes: A offers on "start"
    /// and sends the first message once its channel opens; the setup time is from A's start to B receiving that
    /// message, on the shared monotonic clock. The caller disposes the peers.
    /// </summary>
    public static Task<(PeerConnectionSetup Result, PeerProcess A, PeerProcess B)> ConnectPeerConnectionsAsync(NatLab lab, string homeA, string homeB, TimeSpan timeout, bool warmUp = false, params string[] more) =>
        ConnectPeerConnectionsAsync(lab, homeA, homeB, timeout, nodeFolder: null, warmUp, more);

    /// <summary>
    /// As above; with <paramref name="nodeFolder"/> (tests/interop/node) both peers are node-datachannel's nat-peer.mjs
    /// instead of the .NET peer program (same lines, same events; its time stamps are nanoseconds of the same clock).
    /// </summary>
    public static async Task<(PeerConnectionSetup Result, PeerProcess A, PeerProcess B)> ConnectPeerConnectionsAsync(NatLab lab, string homeA, string homeB, TimeSpan timeout, string? nodeFolder, bool warmUp, string[] more)
    {
        string[] extra = warmUp ? ["--pc", "--warm-up", .. more] : ["--pc", .. more];
        PeerProcess Start(string home, bool controlling) => nodeFolder is null
            ? PeerProcess.Start(home, lab.Homes[home].Namespace, [.. PeerArgs(controlling), .. extra])
            : PeerProcess.StartNode(home, lab.Homes[home].Namespace, nodeFolder, "nat-peer.mjs", [.. PeerArgs(controlling), .. extra]);
        var ticksPerSecond = nodeFolder is null ? Stopwatch.Frequency : 1_000_000_000.0;
        var a = Start(homeA, controlling: true);
        PeerProcess? b = null;
        try
        {
            b = Start(homeB, controlling: false);
            await Task.WhenAll(a.WaitForEventAsync(e => Is(e, "ready"), timeout), b.WaitForEventAsync(e => Is(e, "ready"), timeout));
            PeerProcess.Connect(a, b);
            a.Send("{\"cmd\":\"start\"}");
            var started = await a.WaitForEventAsync(e => Is(e, "started"), timeout);
            var results = await Task.WhenAll(
                a.WaitForEventAsync(e => (string?)e["event"] is "offerer-open" or "failed", timeout),
                b.WaitForEventAsync(e => (string?)e["event"] is "connected" or "failed", timeout));
            var (ea, eb) = (results[0], results[1]);
            var ok = Is(ea, "offerer-open") && Is(eb, "connected");
            var ms = ok ? ((long)eb["ts"]! - (long)started["ts"]!) * 1000.0 / ticksPerSecond : -1;
            return (new PeerConnectionSetup(homeA, homeB, ok, ok && (bool?)ea["relayed"] == true, Describe(ea), ms,
                (long?)ea["iceMs"] ?? -1, (long?)ea["connectedMs"] ?? -1, ok ? null : $"{ea["reason"]} / {eb["reason"]}"), a, b!);
        }
        catch
        {
            a.Dispose();
            b?.Dispose();
            throw;
        }
    }

    private static bool Is(JsonObject e, string name) => (string?)e["event"] == name;

    public static string Describe(JsonObject e) => (string?)e["event"] is "connected" or "offerer-open"
        ? $"{e["local"]} {e["localAddress"]} -> {e["remote"]} {e["remoteAddress"]}"
        : $"failed: {e["reason"]}";
}
