using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.Agent.Fencing;

/// <summary>
/// Keeps the fencing promise when the agent cannot: a small separate process (see <see cref="Script"/>) that kills
/// this node's singleton instances once the lease runs out unless the agent renewed it. It keeps working while the
/// agent is paused, hung or dead, so a replacement started elsewhere never runs beside a stale copy.
/// Linux only (it reads /proc); methods are safe to call from one thread at a time.
/// </summary>
internal sealed partial class FenceWatchdog : IAsyncDisposable
{
    private const string PidFileName = "fence-watchdog.pid";
    private static readonly TimeSpan RestartPause = TimeSpan.FromSeconds(10);

    private readonly string _dataDirectory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private Process? _process;
    private int? _previousPid;
    private long _lastStartAttempt = long.MinValue;

    public FenceWatchdog(string dataDirectory, ILogger logger, TimeProvider time)
    {
        _dataDirectory = dataDirectory;
        _logger = logger;
        _time = time;
    }

    /// <summary>Raised (on a thread-pool thread) with the pid of each process the watchdog killed because the lease ran out.</summary>
    public event Action<int>? Fenced;

    /// <summary>Pid of the running watchdog, if any.</summary>
    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Starts the watchdog; false (with a warning) where it cannot run.</summary>
    public bool Start()
    {
        _lastStartAttempt = _time.GetTimestamp();
        const string bash = "/bin/bash";
        if (!OperatingSystem.IsLinux() || !File.Exists(bash) || !File.Exists("/proc/uptime"))
        {
            LogUnavailable(_logger, "it needs Linux and /bin/bash");
            return false;
        }
        _previousPid ??= ReadPidFile();
        var info = new ProcessStartInfo(bash)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--noprofile", "--norc", "-c", Script, ProcessName }) info.ArgumentList.Add(arg);
        try
        {
            var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => OnOutput(e.Data);
            process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) LogWatchdogError(_logger, line); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            Directory.CreateDirectory(_dataDirectory);
            File.WriteAllText(Path.Combine(_dataDirectory, PidFileName), process.Id.ToString(CultureInfo.InvariantCulture));
            LogStarted(_logger, process.Id);
            return true;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException)
        {
            LogUnavailable(_logger, e.Message);
            return false;
        }
    }

    /// <summary>
    /// Tells the watchdog to kill <paramref name="pids"/> (with their descendants) once /proc/uptime reaches
    /// <paramref name="deadline"/> (hundredths of a second), replacing the previous lease. No pids: guard nothing.
    /// </summary>
    public void Renew(long deadline, IEnumerable<int> pids)
    {
        var targets = pids.Select(p => (Pid: p, Start: ProcessStartTime(p))).Where(t => t.Start is not null)
            .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Pid}:{t.Start}")).ToList();
        Send(targets.Count == 0 ? "clear" : string.Create(CultureInfo.InvariantCulture, $"lease {deadline} {string.Join(' ', targets)}"));
        // An earlier agent run's watchdog guarded the same processes with an older lease; ours has taken over.
        if (_previousPid is { } previous && Pid is not null)
        {
            RetirePrevious(previous);
            _previousPid = null;
        }
    }

    /// <summary>Guard nothing (e.g. before a graceful shutdown stops the workloads itself).</summary>
    public void Clear() => Send("clear");

    /// <summary>Asks the watchdog to exit and waits briefly.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is not { } process) return;
        Send("exit");
        try
        {
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            try { process.Kill(); } catch (InvalidOperationException) { }
        }
        try { File.Delete(Path.Combine(_dataDirectory, PidFileName)); } catch (IOException) { }
        process.Dispose();
        _process = null;
    }

    /// <summary>/proc/uptime in hundredths of a second (CLOCK_BOOTTIME, the watchdog's clock), or null where unreadable.</summary>
    public static long? UptimeCentiseconds()
    {
        try
        {
            var text = File.ReadAllText("/proc/uptime");
            var first = text.Split(' ', 2)[0];
            return decimal.TryParse(first, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) ? (long)(seconds * 100) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Field 22 of /proc/PID/stat (start time in clock ticks after boot), or null when the process is gone.</summary>
    public static string? ProcessStartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 ? fields[19] : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private void OnOutput(string? line)
    {
        if (line is not { Length: > 0 }) return;
        LogWatchdogSaid(_logger, line);
        var parts = line.Split(' ', 3);
        if (parts is ["fenced", var pid, ..] && int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var killed)) Fenced?.Invoke(killed);
    }

    /// <summary>Closes the watchdog's input without telling it to exit, as a dying agent would (tests).</summary>
    internal void AbandonInput() => _process?.StandardInput.Close();

    /// <summary>Writes one command line, restarting the watchdog (at most every 10 s) if it died.</summary>
    internal void Send(string line)
    {
        if (_process is not { HasExited: false } process)
        {
            if (_process is not null) LogExited(_logger);
            _process = null;
            // Restart it, but not in a tight loop if something kills it again and again.
            if (_time.GetElapsedTime(_lastStartAttempt) < RestartPause || !Start()) return;
            process = _process!;
        }
        Write(process, line + "\n");
    }

    /// <summary>Writes raw text to the watchdog (tests split a command in two with it).</summary>
    internal void Write(string text)
    {
        if (_process is { HasExited: false } process) Write(process, text);
    }

    private void Write(Process process, string text)
    {
        try
        {
            process.StandardInput.Write(text);
            process.StandardInput.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            LogWriteFailed(_logger, e.Message);
        }
    }

    private int? ReadPidFile()
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(_dataDirectory, PidFileName)).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void RetirePrevious(int pid)
    {
        try
        {
            if (pid == Environment.ProcessId || pid == Pid) return;
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            if (!cmdline.Contains(ProcessName, StringComparison.Ordinal)) return;
            using var previous = Process.GetProcessById(pid);
            previous.Kill();
            LogRetired(_logger, pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Gone already, or not ours.
        }
    }
}
