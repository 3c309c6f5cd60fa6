using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Signaling;

// Usage: VirtualCluster.P2P.Peer --role controlling|controlled [--stun host:port] [--turn host:port --user u --pass p]
//        [--port N] [--relay-only] [--loopback] [--verbose] [--wait-start] [--timeout seconds] [--pc [--warm-up]]
// --pc: a PeerConnection with data channels (see PeerConnectionMode.cs for its signaling lines and commands)
// stdin:  signaling messages ({"type":...}) and commands ({"cmd":"start"}, {"cmd":"send","text":"..."}, {"cmd":"quit"})
// stdout: signaling messages ({"type":...}) and events ({"event":"ready"|"connected"|"data"|"failed"|"state",...})
var settings = Args.Parse(args);
var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
var output = TextWriter.Synchronized(stdout);
var options = new IceAgentOptions { IncludeIPv6 = false, IncludeLoopback = settings.Loopback, Port = settings.Port };
if (settings.Stun is { } stun) options.Servers.Add(IceServer.Parse("stun:" + stun));
if (settings.Turn is { } turn) options.Servers.Add(IceServer.Parse("turn:" + turn, settings.User, settings.Pass));
if (settings.RelayOnly) options.TransportPolicy = IceTransportPolicy.Relay;
if (settings.Loopback) options.LocalAddresses.Add(System.Net.IPAddress.Loopback);

// logs go to stderr (the tests keep them and show them when a connection fails)
// --pc also turns the stack's log events into per-phase marks on stdout (Marks.cs) for the benchmark's trace
using var loggerFactory = LoggerFactory.Create(b => b
    .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
    .AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>("VirtualCluster", settings.Verbose ? LogLevel.Debug : LogLevel.Information)
    .AddProvider(new MarkLoggerProvider())
    .AddFilter<MarkLoggerProvider>("VirtualCluster", args.Contains("--pc") ? LogLevel.Trace : LogLevel.None)
    .Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
// --pc: a whole PeerConnection (ICE + DTLS + SCTP + data channels) instead of a bare ICE agent
if (Array.IndexOf(args, "--inline-wait") is var iw and >= 0 && iw + 1 < args.Length)
    PeerConnectionMode.InlineWait = TimeSpan.FromMilliseconds(int.Parse(args[iw + 1], System.Globalization.CultureInfo.InvariantCulture));
if (args.Contains("--pc")) return await PeerConnectionMode.RunAsync(settings.Controlling, settings.WaitStart, args.Contains("--warm-up"), options, loggerFactory, output);
await using var agent = new IceAgent(settings.Controlling ? IceRole.Controlling : IceRole.Controlled, options, loggerFactory: loggerFactory);
var inbound = Channel.CreateUnbounded<SignalingMessage>();
var signaling = new PeerSignaling(inbound.Reader, output);
agent.DataReceived = data => Event(new JsonObject { ["event"] = "data", ["text"] = Encoding.UTF8.GetString(data) });
agent.StateChanged += state => Event(new JsonObject { ["event"] = "state", ["state"] = state.ToString() });

var stopwatch = new Stopwatch();
var quit = new TaskCompletionSource();
var start = new TaskCompletionSource();
_ = Task.Run(async () =>
{
    while (await Console.In.ReadLineAsync() is { } line)
    {
        if (SignalingMessage.TryParse(line, out var message))
        {
            inbound.Writer.TryWrite(message);
            continue;
        }
        JsonNode? command;
        try { command = JsonNode.Parse(line); } catch (JsonException) { continue; }
        switch ((string?)command?["cmd"])
        {
            case "send":
                try { agent.Send(Encoding.UTF8.GetBytes((string?)command!["text"] ?? "")); }
                catch (InvalidOperationException e) { Event(new JsonObject { ["event"] = "error", ["reason"] = e.Message }); }
                break;
            case "start":
                start.TrySetResult();
                break;
            case "quit":
                quit.TrySetResult();
                break;
        }
    }
    quit.TrySetResult();
});

// with --wait-start, ICE begins only on {"cmd":"start"}, so a harness can time setup without process start-up
Event(new JsonObject { ["event"] = "ready" });
if (settings.WaitStart) await Task.WhenAny(start.Task, quit.Task);
stopwatch.Start();
await using var session = new IceSignalingSession(agent, signaling);
try
{
    var pair = await session.ConnectAsync(new CancellationTokenSource(TimeSpan.FromSeconds(settings.TimeoutSeconds)).Token);
    Event(new JsonObject
    {
        ["event"] = "connected",
        ["ms"] = stopwatch.ElapsedMilliseconds,
        ["local"] = IceCandidate.TypeToken(pair.ValidLocal.Type),
        ["localSend"] = IceCandidate.TypeToken(pair.Local.Type),
        ["remote"] = IceCandidate.TypeToken(pair.Remote.Type),
        ["relayed"] = pair.IsRelayed,
        ["localAddress"] = pair.ValidLocal.EndPoint.ToString(),
        ["remoteAddress"] = pair.Remote.EndPoint.ToString(),
        ["role"] = agent.Role.ToString(),
    });
}
catch (Exception e) when (e is IceConnectionFailedException or OperationCanceledException)
{
    Event(new JsonObject { ["event"] = "failed", ["reason"] = e.Message, ["ms"] = stopwatch.ElapsedMilliseconds });
}
await quit.Task;
return 0;

void Event(JsonObject json) => output.WriteLine(json.ToJsonString());

/// <summary>Signaling over this process's stdin (fed by the reader loop) and stdout.</summary>
internal sealed class PeerSignaling(ChannelReader<SignalingMessage> inbound, TextWriter output) : ISignalingChannel
{
    public Task SendAsync(SignalingMessage message, CancellationToken cancellationToken = default)
    {
        output.WriteLine(message.ToJson());
        return Task.CompletedTask;
    }

    public async ValueTask<SignalingMessage?> ReceiveAsync(CancellationToken cancellationToken = default) =>
        await inbound.WaitToReadAsync(cancellationToken) && inbound.TryRead(out var m) ? m : null;
}

internal sealed record Args(bool Controlling, string? Stun, string? Turn, string? User, string? Pass, int Port, bool RelayOnly, bool Loopback, int TimeoutSeconds, bool Verbose, bool WaitStart)
{
    public static Args Parse(string[] args)
    {
        string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        return new Args(Value("--role") != "controlled", Value("--stun"), Value("--turn"), Value("--user"), Value("--pass"),
            int.TryParse(Value("--port"), out var port) ? port : 0, args.Contains("--relay-only"), args.Contains("--loopback"),
            int.TryParse(Value("--timeout"), out var timeout) ? timeout : 30, args.Contains("--verbose"), args.Contains("--wait-start"));
    }
}
