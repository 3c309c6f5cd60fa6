using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

/// <summary>
/// Per-phase timestamps for the benchmark: {"event":"mark","name":...,"ts":...} lines on stdout, with "ts" in
/// Stopwatch ticks of CLOCK_MONOTONIC, which both peers (and the harness) share across network namespaces, so the
/// harness can put the two processes' phases on one time line.
/// </summary>
internal static class Marks
{
    private static Action<JsonObject>? _emit;

    /// <summary>Where marks go (the peer's event output); none until set.</summary>
    public static void Attach(Action<JsonObject> emit) => _emit = emit;

    public static void Mark(string name, string? detail = null, long? ts = null) =>
        _emit?.Invoke(new JsonObject { ["event"] = "mark", ["name"] = name, ["ts"] = ts ?? Stopwatch.GetTimestamp(), ["detail"] = detail });
}

/// <summary>
/// Turns the stack's own log events into marks (ICE checks, successes, nomination, state; DTLS and SCTP progress), so
/// the trace needs no hooks in the library. The warm-up connections log through it too (so the logging code is compiled
/// before the measured one) but print nothing: marks go out only once <see cref="Marks.Attach"/> was called.
/// </summary>
internal sealed class MarkLoggerProvider : ILoggerProvider
{
    private static readonly Dictionary<int, string> Names = new()
    {
        [3001] = "ice-state", [3006] = "ice-pair-succeeded", [3007] = "ice-pair-failed", [3011] = "ice-nominating",
        [3016] = "ice-check-sent", [3017] = "ice-check-received", [3018] = "ice-recheck", [3009] = "ice-local-prflx", [3010] = "ice-remote-prflx",
        [3101] = "dtls-started", [3102] = "dtls-connected", [5001] = "sctp-connecting", [5002] = "sctp-established",
        [2001] = "turn-allocated", [3004] = "ice-gathering-done",
    };

    public ILogger CreateLogger(string categoryName) => new MarkLogger();

    public void Dispose()
    {
    }

    private sealed class MarkLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var ts = Stopwatch.GetTimestamp();
            if (Names.TryGetValue(eventId.Id, out var name)) Marks.Mark(name, formatter(state, exception), ts);
        }
    }
}
