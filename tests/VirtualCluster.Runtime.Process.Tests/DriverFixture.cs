using VirtualCluster.Runtime;

namespace VirtualCluster.Runtime.Process.Tests;

/// <summary>
/// A temp data root, drivers, and every process the test started: all killed (with their descendants)
/// when the test ends, pass or fail.
/// </summary>
public abstract class DriverFixture : IDisposable
{
    private readonly List<ProcessDriver> _drivers = [];
    private readonly List<int> _pids = [];

    protected DriverFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "vc-proc-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Driver = NewDriver();
    }

    protected string Root { get; }

    protected ProcessDriver Driver { get; }

    protected ProcessDriver NewDriver(ProcessDriverOptions? options = null)
    {
        var driver = new ProcessDriver(options);
        _drivers.Add(driver);
        return driver;
    }

    protected static ServiceSpec Shell(string script) => new()
    {
        Name = "test",
        Driver = "process",
        Command = "/bin/sh",
        Args = ["-c", script],
    };

    /// <summary>Every request carries this marker in its environment, which children inherit, so cleanup finds orphans too.</summary>
    private string Marker { get; } = "VC_TEST_MARKER=" + Guid.NewGuid().ToString("N");

    protected WorkloadStartRequest Request(string id, ServiceSpec spec, IReadOnlyDictionary<string, int>? ports = null, IReadOnlyDictionary<string, string>? env = null, long epoch = 1)
    {
        var environment = new Dictionary<string, string>(env ?? new Dictionary<string, string>());
        var equals = Marker.IndexOf('=', StringComparison.Ordinal);
        environment[Marker[..equals]] = Marker[(equals + 1)..];
        return new(id, epoch, spec, ports ?? new Dictionary<string, int>(), environment, Path.Combine(Root, id));
    }

    /// <summary>Starts and remembers the pid for cleanup.</summary>
    protected async Task<WorkloadStatus> StartAsync(WorkloadStartRequest request, ProcessDriver? driver = null)
    {
        var status = await (driver ?? Driver).StartAsync(request);
        Track(status.Pid);
        return status;
    }

    protected void Track(int? pid)
    {
        if (pid is int value) lock (_pids) _pids.Add(value);
    }

    protected async Task<IReadOnlyList<LogLine>> WaitForLinesAsync(string id, int count, ProcessDriver? driver = null)
    {
        IReadOnlyList<LogLine> lines = [];
        await Poll.UntilAsync(async () => (lines = await (driver ?? Driver).ReadLogsAsync(id, 0, 1000)).Count >= count, $"{count} log lines of {id}");
        return lines;
    }

    protected async Task<WorkloadStatus> WaitForStateAsync(string id, WorkloadState state, ProcessDriver? driver = null)
    {
        WorkloadStatus status = null!;
        await Poll.UntilAsync(async () => (status = await (driver ?? Driver).GetStatusAsync(id)).State == state, $"{id} to be {state}");
        return status;
    }

    public void Dispose()
    {
        KillEverythingStarted();
        foreach (var driver in _drivers) driver.DisposeAsync().AsTask().GetAwaiter().GetResult();
        // The driver may still be recording a killed process's exit (pid file) for a moment: retry briefly.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
                break;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
            catch (IOException)
            {
                break; // A temp directory left behind is harmless.
            }
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Kills tracked processes, their descendants and anything carrying the marker, until none is left: a shell
    /// may be forking a child just as it is killed, and that child only shows up on a later scan.
    /// </summary>
    private void KillEverythingStarted()
    {
        int[] tracked;
        lock (_pids) tracked = [.. _pids];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var alive = tracked.Where(Poll.PidExists)
                .SelectMany(pid => ProcFs.Descendants(pid).Select(child => child.Pid).Append(pid))
                .Concat(MarkedProcesses())
                .Distinct()
                .ToList();
            if (alive.Count == 0) return;
            foreach (var pid in alive) ProcFs.Signal(pid, ProcFs.SigKill);
            Thread.Sleep(20);
        }
    }

    /// <summary>Live processes whose environment holds this test's marker (including orphans re-parented to init).</summary>
    private List<int> MarkedProcesses()
    {
        var result = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(entry, "environ")).Split('\0').Contains(Marker)) result.Add(pid);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }
        return result;
    }
}
