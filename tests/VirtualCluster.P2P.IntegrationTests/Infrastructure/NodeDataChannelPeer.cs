using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>
/// tests/interop/node/peer.mjs (node-datachannel, a libdatachannel binding) as a child process speaking JSON lines on
/// stdin/stdout. Fails with what to run when node or the npm package is missing. Disposal ends the process.
/// </summary>
internal sealed class NodeDataChannelPeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<JsonObject> _messages = Channel.CreateUnbounded<JsonObject>();
    private readonly SemaphoreSlim _write = new(1, 1);

    private NodeDataChannelPeer(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line && line[0] == '{' && JsonNode.Parse(line) is JsonObject m) _messages.Writer.TryWrite(m);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) Stderr.Add(line); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public List<string> Stderr { get; } = [];

    public ChannelReader<JsonObject> Messages => _messages.Reader;

    public static string ScriptFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "VirtualCluster.Sdk.sln"))) return Path.Combine(dir.FullName, "tests", "interop", "node");
            }
            throw new InvalidOperationException("cannot find the repository root (VirtualCluster.Sdk.sln) above " + AppContext.BaseDirectory);
        }
    }

    public static string? UnavailableReason()
    {
        if (!Shell.Exists("node")) return "node is not installed: run scripts/install-p2p-deps.sh as root (apt-get install -y nodejs npm)";
        if (!Directory.Exists(Path.Combine(ScriptFolder, "node_modules", "node-datachannel")))
            return "node-datachannel is not installed: run scripts/install-p2p-deps.sh (npm ci in tests/interop/node)";
        return null;
    }

    public static NodeDataChannelPeer Start()
    {
        if (UnavailableReason() is { } reason) throw new InvalidOperationException(reason);
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = ScriptFolder, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.ArgumentList.Add("peer.mjs");
        return new NodeDataChannelPeer(Process.Start(info)!);
    }

    public async Task SendAsync(JsonObject message)
    {
        await _write.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(message.ToJsonString());
            await _process.StandardInput.FlushAsync();
        }
        finally
        {
            _write.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await SendAsync(new JsonObject { ["cmd"] = "quit" });
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException)
        {
        }
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
