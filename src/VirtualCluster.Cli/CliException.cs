namespace VirtualCluster.Cli;

/// <summary>An expected failure: printed as one "error:" line, never with a stack trace.</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
