namespace VirtualCluster.Runtime.Process;

/// <summary>Settings of the <see cref="ProcessDriver"/>.</summary>
public sealed class ProcessDriverOptions
{
    /// <summary>Output lines kept in memory per instance (older lines stay only in <c>output.log</c>). Default 2000.</summary>
    public int LogBufferLines { get; set; } = 2000;

    /// <summary>Longest line kept, in characters; the rest of a longer line is dropped and the line marked truncated. Default 16384.</summary>
    public int MaxLineLength { get; set; } = 16 * 1024;

    /// <summary>
    /// Size at which <c>output.log</c> is rotated to <c>output.log.1</c> (one old file is kept), and from which
    /// <c>stdout.log</c> and <c>stderr.log</c>, once read to their end, are truncated to zero. Default 10 MiB.
    /// </summary>
    public long MaxOutputFileBytes { get; set; } = 10L * 1024 * 1024;

    internal void Validate()
    {
        if (LogBufferLines < 1) throw new ArgumentOutOfRangeException(nameof(LogBufferLines), LogBufferLines, "must be at least 1");
        if (MaxLineLength < 1) throw new ArgumentOutOfRangeException(nameof(MaxLineLength), MaxLineLength, "must be at least 1");
        if (MaxOutputFileBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxOutputFileBytes), MaxOutputFileBytes, "must be at least 1");
    }
}
