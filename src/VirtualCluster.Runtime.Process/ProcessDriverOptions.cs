namespace VirtualCluster.Runtime.Process;

/// <summary>Settings of the <see cref="ProcessDriver"/>.</summary>
public sealed class ProcessDriverOptions
{
    /// <summary>Output lines kept in memory per instance (older lines stay only in <c>output.log</c>). Default 2000.</summary>
    public int LogBufferLines { get; set; } = 2000;

    /// <summary>Longest line kept, in characters; the rest of a longer line is dropped and the line marked truncated. Default 16384.</summary>
    public int MaxLineLength { get; set; } = 16 * 1024;

    /// <summary>Size at which <c>output.log</c> is rotated to <c>output.log.1</c> (one old file is kept). Default 10 MiB.</summary>
    public long MaxOutputFileBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>
    /// How long to wait, after a process exits, for the rest of its output before reporting it Exited.
    /// Bounded because a child the process left behind may keep the pipes open. Default 2 seconds.
    /// </summary>
    public TimeSpan OutputDrainTimeout { get; set; } = TimeSpan.FromSeconds(2);

    internal void Validate()
    {
        if (LogBufferLines < 1) throw new ArgumentOutOfRangeException(nameof(LogBufferLines), LogBufferLines, "must be at least 1");
        if (MaxLineLength < 1) throw new ArgumentOutOfRangeException(nameof(MaxLineLength), MaxLineLength, "must be at least 1");
        if (MaxOutputFileBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxOutputFileBytes), MaxOutputFileBytes, "must be at least 1");
        if (OutputDrainTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(OutputDrainTimeout), OutputDrainTimeout, "must not be negative");
    }
}
