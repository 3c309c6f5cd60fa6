using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using VirtualCluster.Replication.Volumes;
using VirtualCluster.Security;

namespace VirtualCluster.Benchmarks.Replication;

/// <summary>
/// Replication lag under a steady write load: a writer appends numbered, timestamped 1 KiB records to a log in the
/// volume (default 1 MB/s, a write every 50 ms), and a checker reads the replica's last record every 100 ms; the lag
/// is the age of the oldest record the replica does not have yet. Measured the same way for our VolumeReplicator
/// (over loopback TCP to a ReplicaServer, machine token checked) and for rsync run back to back, as lsyncd would.
/// </summary>
internal static class LagBenchmark
{
    public static async Task RunAsync(string work, int seconds, int bytesPerSecond)
    {
        Console.WriteLine($"steady write load: {bytesPerSecond / 1e6:F1} MB/s of 1 KiB records for {seconds} s per row; {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| replicator | lag mean s | lag p95 s | lag max s | bytes on the wire | wire / written | load |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        var (oursLag, oursBytes, written) = await MeasureAsync(Path.Combine(work, "lag-ours"), seconds, bytesPerSecond, Ours);
        Row("ours (VolumeReplicator, debounce 20 ms)", oursLag, oursBytes, written);
        var (rsyncLag, rsyncBytes, written2) = await MeasureAsync(Path.Combine(work, "lag-rsync"), seconds, bytesPerSecond, RsyncLoop);
        Row("rsync -a --no-whole-file, back to back", rsyncLag, rsyncBytes, written2);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean lag ours/rsync {oursLag.Average() / rsyncLag.Average():F2}, bytes ours/rsync {(double)oursBytes / rsyncBytes:F3}"));
    }

    private static void Row(string name, List<double> lag, long wire, long written)
    {
        lag.Sort();
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {lag.Average():F3} | {lag[(int)(lag.Count * 0.95)]:F3} | {lag[^1]:F3} | {wire:N0} | {(double)wire / written:F3} | {load} |"));
    }

    /// <summary>Runs the writer and the checker around a replicator; returns lag samples, wire bytes and bytes written.</summary>
    private static async Task<(List<double> Lag, long Wire, long Written)> MeasureAsync(string directory, int seconds, int bytesPerSecond,
        Func<string, string, CancellationToken, Task<long>> replicate)
    {
        var volume = Path.Combine(directory, "volume");
        var replica = Path.Combine(directory, "replica");
        Directory.CreateDirectory(volume);
        var log = Path.Combine(volume, "records.log");
        File.WriteAllText(log, "");
        var clock = Stopwatch.StartNew();
        var writtenAt = new List<double>();
        using var stop = new CancellationTokenSource();
        var replicator = replicate(volume, replica, stop.Token);
        var random = new Random(7);
        var recordsPerWrite = Math.Max(1, bytesPerSecond / 1024 / 20);
        long written = 0;
        var samples = new List<double>();
        var nextSample = 0.0;
        for (var tick = 0; clock.Elapsed.TotalSeconds < seconds; tick++)
        {
            var due = tick * 0.05;
            while (clock.Elapsed.TotalSeconds < due)
            {
                if (clock.Elapsed.TotalSeconds >= nextSample && tick > 20) { samples.Add(Lag(replica, writtenAt, clock.Elapsed.TotalSeconds)); nextSample += 0.1; }
                await Task.Delay(5);
            }
            var text = new StringBuilder();
            lock (writtenAt)
            {
                for (var r = 0; r < recordsPerWrite; r++)
                {
                    var line = $"{writtenAt.Count} {clock.Elapsed.TotalSeconds:F3} ";
                    // Random hex padding: about 2:1 compressible, like logs with ids and numbers, not a run of one byte.
                    text.Append(line);
                    for (var c = line.Length; c < 1023; c++) text.Append("0123456789abcdef"[random.Next(16)]);
                    text.Append('\n');
                    writtenAt.Add(clock.Elapsed.TotalSeconds);
                }
            }
            await File.AppendAllTextAsync(log, text.ToString());
            written += text.Length;
            if (nextSample == 0) nextSample = clock.Elapsed.TotalSeconds + 1;
        }
        await stop.CancelAsync();
        var wire = await replicator;
        return (samples, wire, written);
    }

    /// <summary>Age of the oldest record the replica lacks: the write time of the record after its last one.</summary>
    private static double Lag(string replica, List<double> writtenAt, double now)
    {
        var last = -1;
        var path = Path.Combine(replica, "records.log");
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (file.Length >= 1024)
            {
                file.Position = file.Length - 1024;
                var buffer = new byte[1024];
                file.ReadExactly(buffer);
                last = int.Parse(Encoding.ASCII.GetString(buffer).Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        catch (IOException) { }
        lock (writtenAt) return last + 1 < writtenAt.Count ? now - writtenAt[last + 1] : 0;
    }

    private static async Task<long> Ours(string volume, string replica, CancellationToken stop)
    {
        var tokens = new TokenService(TokenKeyRing.CreateEphemeral());
        var holder = Path.Combine(Path.GetDirectoryName(replica)!, "holder");
        await using var server = new ReplicaServer(new IPEndPoint(IPAddress.Loopback, 0), holder, new MachineTokenAuthenticator(tokens));
        var token = tokens.IssueMachineToken("node-a", "g1");
        Directory.CreateSymbolicLink(replica, server.ReplicaPath("bench"));
        long wire = 0;
        var transport = new CountingTransport(new TcpSyncTransport(server.EndPoint, "bench", 1, () => token), n => Interlocked.Add(ref wire, n));
        await using var replicator = new VolumeReplicator("bench", volume, transport,
            new VolumeReplicatorOptions { Debounce = TimeSpan.FromMilliseconds(20), SyncInterval = TimeSpan.FromSeconds(1), RetryDelay = TimeSpan.FromMilliseconds(100) });
        replicator.Start();
        await Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default);
        return Interlocked.Read(ref wire);
    }

    private static async Task<long> RsyncLoop(string volume, string replica, CancellationToken stop)
    {
        Directory.CreateDirectory(replica);
        long wire = 0;
        while (!stop.IsCancellationRequested)
        {
            using var process = Process.Start(new ProcessStartInfo("rsync", $"-a --no-whole-file --stats {volume}/ {replica}/") { RedirectStandardOutput = true })!;
            var output = await process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            await process.WaitForExitAsync(CancellationToken.None);
            foreach (var label in new[] { "Total bytes sent", "Total bytes received" })
            {
                var match = Regex.Match(output, label + @": ([\d,]+)");
                if (match.Success) wire += long.Parse(match.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
            }
        }
        return wire;
    }
}
