using System.Globalization;
using VirtualCluster.FailureDetection;
using VirtualCluster.Membership;

namespace VirtualCluster.Benchmarks.Failover;

/// <summary>
/// Feeds the same synthetic heartbeat traces to several detectors on virtual time and reports, per trace shape,
/// false Down declarations per node-hour of a live node and the time from a crash to its detection.
/// </summary>
/// <remarks>
/// φ only grows between heartbeats, so a live node is falsely declared down exactly when the detector says Down
/// an instant (1 ms) before a heartbeat arrives; that is where each detector is asked. A crash happens at a random
/// moment after a warm-up; the detector is then asked every 5 ms until it says Down.
/// </remarks>
internal static class DetectorQuality
{
    private const double IntervalMs = 500;

    /// <summary>A heartbeat trace shape: the next inter-arrival time in ms.</summary>
    private sealed record Shape(string Name, string Description, Func<Random, double> NextInterval);

    /// <summary>One detector under test, created fresh per trace on the shared clock.</summary>
    private sealed record Candidate(string Name, Func<ManualTime, ICandidate> Create);

    private interface ICandidate
    {
        void Heartbeat();
        bool IsDown();
    }

    private sealed class Ours(NodeFailureDetector detector) : ICandidate
    {
        public void Heartbeat() => detector.Heartbeat("n");
        public bool IsDown() => detector.GetState("n") == NodeState.Down;
    }

    private sealed class AkkaDetector(global::Akka.Remote.PhiAccrualFailureDetector detector) : ICandidate
    {
        public void Heartbeat() => detector.HeartBeat();
        public bool IsDown() => !detector.IsAvailable;
    }

    private sealed class FixedTimeout(ManualTime time, double timeoutMs) : ICandidate
    {
        private double _last = double.NaN;
        public void Heartbeat() => _last = time.NowMs;
        public bool IsDown() => !double.IsNaN(_last) && time.NowMs - _last >= timeoutMs;
    }

    private static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    private static readonly Shape[] Shapes =
    [
        new("steady", "500 ms ± N(0, 20 ms)", r => IntervalMs + 20 * Normal(r)),
        new("jitter", "500 ms + U(0, 400 ms)", r => IntervalMs + 400 * r.NextDouble()),
        new("starved", "half the intervals +U(300, 500 ms) (agent frozen 300-500 ms at a time)", r => IntervalMs + (r.NextDouble() < 0.5 ? 300 + 200 * r.NextDouble() : 0)),
        new("gc-pauses", "steady, and 1% of intervals +U(0.5, 2.5 s)", r => IntervalMs + 20 * Normal(r) + (r.NextDouble() < 0.01 ? 500 + 2000 * r.NextDouble() : 0)),
        new("lossy", "steady, but each heartbeat is lost with probability 30% (a flaky link)", r =>
        {
            var interval = IntervalMs + 20 * Normal(r);
            while (r.NextDouble() < 0.3) interval += IntervalMs;
            return interval;
        }),
        new("long-pauses", "steady, and 0.2% of intervals +U(2, 5 s)", r => IntervalMs + 20 * Normal(r) + (r.NextDouble() < 0.002 ? 2000 + 3000 * r.NextDouble() : 0)),
    ];

    private static Candidate[] Candidates()
    {
        var ours = new FailureDetectorOptions();
        return
        [
            new($"VirtualCluster φ≥{ours.DownThreshold} (pause {ours.AcceptableHeartbeatPause.TotalSeconds} s, σmin {ours.MinStandardDeviation.TotalMilliseconds} ms, window {ours.MaxSampleSize})",
                t => new Ours(new NodeFailureDetector(ours, t))),
            new("Akka.NET, same parameters",
                t => new AkkaDetector(new global::Akka.Remote.PhiAccrualFailureDetector(ours.DownThreshold, ours.MaxSampleSize, ours.MinStandardDeviation,
                    ours.AcceptableHeartbeatPause, ours.FirstHeartbeatEstimate, () => (long)t.NowMs))),
            new("Akka.NET cluster defaults (φ 8, pause 3 s, σmin 100 ms, window 1000, first 1 s)",
                t => new AkkaDetector(new global::Akka.Remote.PhiAccrualFailureDetector(8, 1000, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(3),
                    TimeSpan.FromSeconds(1), () => (long)t.NowMs))),
            new("Fixed timeout 3.1 s (the old detector's kind, tuned to the same detection time)", t => new FixedTimeout(t, 3100)),
        ];
    }

    public static int Run(TextWriter output, int hours, int crashes, int seed)
    {
        output.WriteLine($"Detector quality: {hours} h of heartbeats per trace shape and detector for false positives, {crashes} crashes for detection time; seed {seed}.");
        output.WriteLine();
        foreach (var shape in Shapes)
        {
            output.WriteLine($"### {shape.Name}: {shape.Description}");
            output.WriteLine();
            output.WriteLine("| detector | false Downs per node-hour | detection after crash: median | p95 | worst |");
            output.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var candidate in Candidates())
            {
                var falseDowns = FalseDowns(shape, candidate, hours, seed);
                var times = DetectionTimes(shape, candidate, crashes, seed);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {candidate.Name} | {falseDowns / (double)hours:0.##} | {Percentile(times, 0.5) / 1000:0.00} s | {Percentile(times, 0.95) / 1000:0.00} s | {times.Max() / 1000:0.00} s |"));
            }
            output.WriteLine();
        }
        return 0;
    }

    /// <summary>How many times a live node was declared Down (counted once per outage of the verdict).</summary>
    private static int FalseDowns(Shape shape, Candidate candidate, int hours, int seed)
    {
        var random = new Random(seed);
        var time = new ManualTime();
        var detector = candidate.Create(time);
        var now = 0.0;
        var end = hours * 3_600_000.0;
        var count = 0;
        detector.Heartbeat();
        while (now < end)
        {
            var next = now + Math.Max(1, shape.NextInterval(random));
            time.AdvanceTo(next - 1);
            if (detector.IsDown()) count++;
            time.AdvanceTo(next);
            detector.Heartbeat();
            now = next;
        }
        return count;
    }

    /// <summary>Milliseconds from each crash to the first Down verdict; each trial warms up on its own trace first.</summary>
    private static List<double> DetectionTimes(Shape shape, Candidate candidate, int crashes, int seed)
    {
        var random = new Random(seed + 1);
        var results = new List<double>(crashes);
        for (var trial = 0; trial < crashes; trial++)
        {
            var time = new ManualTime();
            var detector = candidate.Create(time);
            var now = 0.0;
            detector.Heartbeat();
            var warmup = 300 + random.Next(300); // 2.5 to 5 minutes of history
            for (var i = 0; i < warmup; i++)
            {
                now += Math.Max(1, shape.NextInterval(random));
                time.AdvanceTo(now);
                detector.Heartbeat();
            }
            // The node dies somewhere before its next heartbeat would have been sent.
            var crash = now + random.NextDouble() * IntervalMs;
            var t = crash;
            time.AdvanceTo(t);
            while (!detector.IsDown() && t - crash < 120_000)
            {
                t += 5;
                time.AdvanceTo(t);
            }
            results.Add(t - crash);
        }
        return results;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        var index = (int)Math.Ceiling(p * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }
}
