using Spectre.Console;
using VirtualCluster.Cli.Http;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli;

/// <summary>Everything a command needs from its surroundings; tests supply writers, a handler and an environment.</summary>
internal sealed class CliContext
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    public required IAnsiConsole OutConsole { get; init; }
    public required IAnsiConsole ErrorConsole { get; init; }

    /// <summary>True when stdout is a terminal: progress is a live spinner instead of printed lines.</summary>
    public required bool IsInteractive { get; init; }

    public required IReadOnlyDictionary<string, string?> Environment { get; init; }

    /// <summary>Replaces the network in tests; null means real sockets.</summary>
    public HttpMessageHandler? Handler { get; init; }

    /// <summary>How long to keep retrying while control planes answer 503; tests shorten it.</summary>
    public RetryLimits Retry { get; init; } = RetryLimits.Default;

    public static CliContext Create(TextWriter stdout, TextWriter stderr, HttpMessageHandler? handler, IReadOnlyDictionary<string, string?> environment,
        RetryLimits? retry = null)
    {
        var outIsTerminal = Consoles.IsTerminal(stdout);
        return new CliContext
        {
            Out = stdout,
            Error = stderr,
            OutConsole = Consoles.Create(stdout, outIsTerminal),
            ErrorConsole = Consoles.Create(stderr, Consoles.IsTerminal(stderr)),
            IsInteractive = outIsTerminal,
            Environment = environment,
            Handler = handler,
            Retry = retry ?? RetryLimits.Default,
        };
    }

    /// <summary>Prints one "error: ..." line to stderr.</summary>
    public void WriteError(string message) => Error.WriteLine($"error: {message}");
}
