using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using VirtualCluster.Benchmarks.Replication;
using VirtualCluster.Replication;
using VirtualCluster.Replication.Sync;

// Our directory sync against the real rsync, same trees, same run. See docs/benchmarks.md.
var sizeMb = Arg("--size-mb", 300);
var keep = args.Contains("--keep");
var random = new Random(Arg("--seed", 42));
var work = Path.Combine(Path.GetTempPath(), $"vcrepl-bench-{Environment.ProcessId}");
var source = Path.Combine(work, "src");
var ours = Path.Combine(work, "ours");
var theirs = Path.Combine(work, "rsync");
Directory.CreateDirectory(source);
var options = new ReplicationOptions { CompressionQuality = Arg("--quality", 1), Durable = !args.Contains("--no-fsync") };
if (args.Contains("--lag"))
{
    try { await LagBenchmark.RunAsync(work, Arg("--seconds", 20), Arg("--bytes-per-second", 1_000_000)); }
    finally { if (!keep) Directory.Delete(work, recursive: true); }
    return;
}
var sender = new DirectorySyncSender(source, options);
var receiver = new DirectorySyncReceiver(ours, options);
try
{
    var rsyncVersion = Run("rsync", "--version").Output.Split('\n')[0];
    var (files, bytes) = TreeMaker.Build(source, sizeMb * 1024L * 1024, random);
    Console.WriteLine($"tree: {files} files, {bytes / 1048576.0:F0} MiB (files of 4 KiB-8 MiB, half random bytes, half text); {rsyncVersion}; {Environment.ProcessorCount} cores");
    Console.WriteLine();
    Console.WriteLine("| step | ours: bytes | rsync: bytes | bytes ours/rsync | ours: s | rsync: s | time ours/rsync | ours: CPU s | rsync: CPU s | load |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    Directory.CreateDirectory(theirs);
    await WarmUpAsync(Path.Combine(work, "warm"), options);

    await Step("initial sync (empty receiver)");
    var writes = TreeMaker.ScatteredWrites(source, 0.01, random);
    await Step($"1 % of bytes changed ({writes:N0} scattered 256-byte writes)");
    await Step("unchanged tree");
    TreeMaker.SmallEdits(source, 1, largest: true, random);
    await Step("one 256-byte write in the largest file");
    var small = Math.Max(1, files / 5);
    TreeMaker.SmallEdits(source, small, largest: false, random);
    await Step($"one 256-byte write in each of the {small} smallest files");
}
finally
{
    if (!keep) Directory.Delete(work, recursive: true);
}

async Task Step(string name)
{
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var report = await sender.SyncAsync(new LocalSyncTransport(receiver));
    var oursCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
    var oursBytes = report.BytesSent + report.BytesReceived;
    var childCpu = ChildrenCpuSeconds();
    var clock = Stopwatch.StartNew();
    var rsync = Run("rsync", $"-a --no-whole-file --delete --stats {source}/ {theirs}/");
    var rsyncTime = clock.Elapsed.TotalSeconds;
    var rsyncCpu = ChildrenCpuSeconds() - childCpu;
    var rsyncBytes = Count(rsync.Output, "Total bytes sent") + Count(rsync.Output, "Total bytes received");
    if (Digest(source) != Digest(ours)) throw new InvalidOperationException($"{name}: our copy differs from the source");
    if (Digest(source) != Digest(theirs)) throw new InvalidOperationException($"{name}: rsync's copy differs from the source");
    var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {oursBytes:N0} | {rsyncBytes:N0} | {(double)oursBytes / rsyncBytes:F3} | {report.Elapsed.TotalSeconds:F2} | {rsyncTime:F2} | {report.Elapsed.TotalSeconds / rsyncTime:F2} | {oursCpu:F2} | {rsyncCpu:F2} | {load} |"));
}

// The agent that replicates is a long-running process: JIT the hot loops on a small tree first, unmeasured.
static async Task WarmUpAsync(string directory, ReplicationOptions options)
{
    var random = new Random(1);
    TreeMaker.Build(Path.Combine(directory, "src"), 8 << 20, random);
    var sender = new DirectorySyncSender(Path.Combine(directory, "src"), options);
    var receiver = new DirectorySyncReceiver(Path.Combine(directory, "dst"), options);
    for (var i = 0; i < 3; i++)
    {
        await sender.SyncAsync(new LocalSyncTransport(receiver));
        TreeMaker.ScatteredWrites(Path.Combine(directory, "src"), 0.01, random);
    }
}

// CPU of waited-for children and their waited-for children (rsync forks its receiver): cutime + cstime of /proc/self/stat.
static double ChildrenCpuSeconds()
{
    var stat = File.ReadAllText("/proc/self/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) / 100.0;
}

static long Count(string output, string label)
{
    var match = Regex.Match(output, label + @": ([\d,]+)");
    return match.Success ? long.Parse(match.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture) : throw new InvalidOperationException($"rsync --stats printed no \"{label}\":\n{output}");
}

static string Digest(string root)
{
    using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    foreach (var file in Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal))
    {
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(file));
        hash.AppendData(File.ReadAllBytes(Path.Combine(root, file)));
        hash.AppendData(BitConverter.GetBytes(File.GetLastWriteTimeUtc(Path.Combine(root, file)).Ticks / 10_000_000));
    }
    return Convert.ToHexString(hash.GetHashAndReset());
}

static (int Code, string Output) Run(string program, string arguments)
{
    using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
    var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {arguments} exited with {process.ExitCode}: {output}");
    return (process.ExitCode, output);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
