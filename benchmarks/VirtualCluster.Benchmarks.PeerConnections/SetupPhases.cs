using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>
/// Where one connection's setup time went: the two peers' marks (Marks.cs of the peer program) and the harness's own
/// relay times, all in Stopwatch ticks of the shared monotonic clock, cut into consecutive phases from the offerer's
/// "started" to the answerer's first message. A milestone that happened before the previous one (the first check can
/// leave before the "answer-set" mark is printed) counts as zero, so the phases always add up to the total.
/// </summary>
internal static class SetupPhases
{
    public static readonly string[] Names =
    [
        "offerer: PeerConnection created, offer out",
        "signaling offer: offerer stdout -> harness",
        "signaling offer: harness -> answerer stdin read",
        "answerer: created, offer applied, answer out",
        "signaling answer: answerer -> harness -> offerer stdin read",
        "offerer: answer applied",
        "ICE: answer applied -> first check out",
        "ICE: first check -> first pair succeeded",
        "ICE: nomination hold (first success -> nominating)",
        "ICE: nominating check -> both connected",
        "DTLS handshake (both connected -> client done)",
        "SCTP association, DCEP open, first message",
    ];

    /// <summary>Phase durations in ms (same order as <see cref="Names"/>), or null when a milestone is missing.</summary>
    public static double[]? Of(PeerProcess a, PeerProcess b)
    {
        var ea = a.Events;
        var eb = b.Events;
        long? Mark(IReadOnlyList<JsonObject> events, string name, Func<string?, bool>? detail = null, long after = 0) =>
            events.Where(e => (string?)e["event"] == "mark" && (string?)e["name"] == name && (detail is null || detail((string?)e["detail"]))
                    && (long)e["ts"]! >= after)
                .Select(e => (long?)(long)e["ts"]!).FirstOrDefault();
        long? Event(IReadOnlyList<JsonObject> events, string name) =>
            events.Where(e => (string?)e["event"] == name).Select(e => (long?)(long)e["ts"]!).FirstOrDefault();
        long? Relayed(PeerProcess p, string start, bool written) =>
            p.RelayedLines.Where(r => r.Start.StartsWith(start, StringComparison.Ordinal)).Select(r => (long?)(written ? r.WrittenAt : r.ReadAt)).FirstOrDefault();

        var started = Event(ea, "started");
        if (started is null) return null;
        var answerSet = Mark(ea, "answer-set");
        var connectedA = Mark(ea, "ice-state", d => d?.EndsWith("Connected", StringComparison.Ordinal) == true);
        var connectedB = Mark(eb, "ice-state", d => d?.EndsWith("Connected", StringComparison.Ordinal) == true);
        long?[] milestones =
        [
            started,
            Mark(ea, "offer-out"),
            Relayed(a, "{\"type\":\"sdp\"", written: false),
            Mark(eb, "offer-in"),
            Mark(eb, "answer-out"),
            Mark(ea, "answer-in"),
            answerSet,
            Mark(ea, "ice-check-sent"),
            Mark(ea, "ice-pair-succeeded"),
            Mark(ea, "ice-nominating"),
            connectedA is null || connectedB is null ? null : Math.Max(connectedA.Value, connectedB.Value),
            Mark(eb, "dtls-connected"),
            Event(eb, "connected"),
        ];
        if (milestones.Any(m => m is null)) return null;
        var phases = new double[milestones.Length - 1];
        var previous = milestones[0]!.Value;
        for (var i = 1; i < milestones.Length; i++)
        {
            var at = Math.Max(previous, milestones[i]!.Value);
            phases[i - 1] = (at - previous) * 1000.0 / Stopwatch.Frequency;
            previous = at;
        }
        return phases;
    }

    /// <summary>The answerer's server-reflexive candidate: from its "cand-out" to the offerer's first check on it, in ms.</summary>
    public static (double Trickle, double ToCheck)? SrflxTrickle(PeerProcess a, PeerProcess b)
    {
        var cand = b.Events.FirstOrDefault(e => (string?)e["name"] == "cand-out" && ((string?)e["detail"])?.Contains("typ srflx", StringComparison.Ordinal) == true);
        if (cand is null) return null;
        var address = ((string)cand["detail"]!).Split(' ') is var f && f.Length > 5 ? $"{f[4]}:{f[5]}" : "";
        var arrived = a.Events.FirstOrDefault(e => (string?)e["name"] == "cand-in" && (string?)e["detail"] == (string?)cand["detail"]);
        // the first check to that address, whatever it was called then (often peer-reflexive: learned from the
        // answerer's own check before the candidate was signaled); one sent before the candidate arrived counts as 0
        var check = a.Events.FirstOrDefault(e => (string?)e["name"] == "ice-check-sent"
            && ((string?)e["detail"])?.Split(" -> ") is [_, var to] && to.Contains($" {address} ", StringComparison.Ordinal));
        if (arrived is null || check is null) return null;
        double Ms(JsonObject from, JsonObject to) => ((long)to["ts"]! - (long)from["ts"]!) * 1000.0 / Stopwatch.Frequency;
        return (Ms(cand, arrived), Math.Max(0, Ms(arrived, check)));
    }

    /// <summary>Prints the median (and quartiles) of each phase over the given connections.</summary>
    public static void Print(List<double[]> runs, List<(double Trickle, double ToCheck)> trickles, string title)
    {
        if (runs.Count == 0) return;
        Console.WriteLine($"\n{title} ({runs.Count} connections; medians of each phase, so they need not add up to the median total):\n");
        Console.WriteLine("| phase | median ms | p25-p75 ms |");
        Console.WriteLine("|---|---:|---:|");
        for (var i = 0; i < Names.Length; i++)
        {
            var xs = runs.Select(r => r[i]).Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {Names[i]} | {Quantile(xs, 0.5):0} | {Quantile(xs, 0.25):0}-{Quantile(xs, 0.75):0} |"));
        }
        var totals = runs.Select(r => r.Sum()).Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| total | {Quantile(totals, 0.5):0} | {Quantile(totals, 0.25):0}-{Quantile(totals, 0.75):0} |"));
        if (trickles.Count > 0)
        {
            var t = trickles.Select(x => x.Trickle).Order().ToList();
            var c = trickles.Select(x => x.ToCheck).Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"\nanswerer's srflx candidate: trickled to the offerer in {Quantile(t, 0.5):0} ms (median), offerer's first check to its address {Quantile(c, 0.5):0} ms after it arrived (0: already checked as peer-reflexive; median of {trickles.Count})"));
        }
    }

    public static double Quantile(List<double> sorted, double q)
    {
        if (sorted.Count == 0) return double.NaN;
        var pos = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(pos);
        var hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}
