using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>
/// The peer program running (optionally) inside a namespace. Signaling lines it prints are forwarded to its partner by
/// <see cref="Connect"/>; event lines are kept for the test.
/// </summary>
public sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly List<JsonObject> _events = [];
    private PeerProcess? _partner;

    private PeerProcess(string name, string? netns, string program, string? workingDirectory, IEnumerable<string> args)
    {
        Name = name;
        var info = netns is null ? new ProcessStartInfo(program) : new ProcessStartInfo("ip");
        if (netns is not null) foreach (var a in new[] { "netns", "exec", netns, program }) info.ArgumentList.Add(a);
        if (workingDirectory is not null) info.WorkingDirectory = workingDirectory;
        foreach (var a in args) info.ArgumentList.Add(a);
        info.RedirectStandardInput = info.RedirectStandardOutput = info.RedirectStandardError = true;
        info.UseShellExecute = false;
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_TieredPGO"] = "0";
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine("! " + e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public static PeerProcess Start(string name, string? netns, params string[] args) =>
        new(name, netns, "dotnet", null, [BuiltPrograms.PeerDll, .. args]);

    /// <summary>
    /// tests/interop/node/&lt;script&gt; under node instead of the .NET peer program (the node-datachannel reference peer
    /// of the benchmark, which speaks the same lines); <paramref name="folder"/> is the script's folder (its node_modules).
    /// </summary>
    public static PeerProcess StartNode(string name, string? netns, string folder, string script, params string[] args) =>
        new(name, netns, "node", folder, [script, .. args]);

    /// <summary>True once the process has exited (a crash shows in <see cref="Log"/>).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Wires two peers' signaling together (stdout lines with a "type" go to the other's stdin).</summary>
    public static void Connect(PeerProcess a, PeerProcess b)
    {
        lock (a._log) a._partner = b;
        lock (b._log) b._partner = a;
        foreach (var line in a.TakeEarlySignaling()) b.Send(line);
        foreach (var line in b.TakeEarlySignaling()) a.Send(line);
    }

    private readonly List<string> _early = [];

    private List<string> TakeEarlySignaling()
    {
        lock (_log)
        {
            var copy = new List<string>(_early);
            _early.Clear();
            return copy;
        }
    }

    /// <summary>One signaling line relayed to the partner: its first characters and when (Stopwatch ticks) it was read and written on.</summary>
    public sealed record Relayed(string Start, long ReadAt, long WrittenAt);

    private readonly List<Relayed> _relayed = [];

    /// <summary>The signaling lines this peer printed that were relayed to its partner, in order.</summary>
    public IReadOnlyList<Relayed> RelayedLines
    {
        get { lock (_relayed) return [.. _relayed]; }
    }

    /// <summary>A snapshot of the events this peer reported so far.</summary>
    public IReadOnlyList<JsonObject> Events
    {
        get { lock (_events) return [.. _events]; }
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        var readAt = Stopwatch.GetTimestamp();
        PeerProcess? partner;
        lock (_log)
        {
            _log.AppendLine(line);
            partner = _partner;
            if (line.StartsWith("{\"type\"", StringComparison.Ordinal) && partner is null)
            {
                _early.Add(line);
                return;
            }
        }
        if (line.StartsWith("{\"type\"", StringComparison.Ordinal))
        {
            partner!.Send(line);
            var relayed = new Relayed(line[..Math.Min(line.Length, 40)], readAt, Stopwatch.GetTimestamp());
            lock (_relayed) _relayed.Add(relayed);
            return;
        }
        if (line.StartsWith("{\"event\"", StringComparison.Ordinal) && JsonNode.Parse(line) is JsonObject json)
            lock (_events) _events.Add(json);
    }

    public void Send(string line)
    {
        try
        {
            lock (_process) _process.StandardInput.WriteLine(line);
        }
        catch (IOException)
        {
        }
        catch (InvalidOperationException)
        {
        }
    }

    public void SendData(string text) => Send(new JsonObject { ["cmd"] = "send", ["text"] = text }.ToJsonString());

    /// <summary>Waits for an event matching <paramref name="predicate"/>; throws with the peer's log on timeout.</summary>
    public async Task<JsonObject> WaitForEventAsync(Func<JsonObject, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (_events)
            {
                var found = _events.Find(e => predicate(e));
                if (found is not null) return found;
            }
            if (_process.HasExited) break;
            await Task.Delay(20);
        }
        throw new TimeoutException($"peer {Name}: no matching event within {timeout.TotalSeconds} s; log:\n{Log}");
    }

    public Task<JsonObject> WaitForConnectedAsync(TimeSpan timeout) =>
        WaitForEventAsync(e => (string?)e["event"] is "connected" or "failed", timeout);

    public void Dispose()
    {
        try
        {
            Send("{\"cmd\":\"quit\"}");
            if (!_process.WaitForExit(2_000)) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5_000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
