using Microsoft.Extensions.Options;
using VirtualCluster.Replication.Delta;

namespace VirtualCluster.Replication;

/// <summary>Settings of a directory sync.</summary>
public sealed class ReplicationOptions
{
    /// <summary>Brotli quality (0-11) of every message. Default 1: about as fast as copying on one core, and still shrinks text several times.</summary>
    public int CompressionQuality { get; set; } = 1;

    /// <summary>
    /// Divides rsync's √length block size for the signatures the sender keeps of what the receiver acknowledged.
    /// Those never cross the wire, so smaller blocks cost only sender memory (12 bytes a block) and make the literal
    /// around a small edit smaller. Default 4 (a 8 MiB file: blocks of 724 bytes instead of 2,896).
    /// </summary>
    public int CachedBlockDivisor { get; set; } = 4;

    /// <summary>Smallest block of a signature the sender keeps. Default 256 bytes.</summary>
    public int CachedMinBlockSize { get; set; } = 256;

    /// <summary>Skip files whose size and modification time match (rsync's quick check). Default true; false compares SHA-256 of every file.</summary>
    public bool QuickCheck { get; set; } = true;

    /// <summary>
    /// fsync every file the receiver writes before it is renamed into place, so a commit survives a power cut. Default
    /// true; false leaves it to the kernel's writeback (rsync's default), faster on slow disks.
    /// </summary>
    public bool Durable { get; set; } = true;

    /// <summary>Most entries (files, directories, links) a manifest may hold. Default 1,000,000.</summary>
    public int MaxEntries { get; set; } = 1_000_000;

    internal int CachedBlockSize(long length) =>
        Math.Max(CachedMinBlockSize, BlockSize.For(length) / CachedBlockDivisor & ~7);
}

/// <summary>Checks <see cref="ReplicationOptions"/> and names every setting that is out of range.</summary>
public sealed class ReplicationOptionsValidator : IValidateOptions<ReplicationOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ReplicationOptions options)
    {
        var failures = new List<string>();
        if (options.CompressionQuality is < 0 or > 11)
            failures.Add($"CompressionQuality is {options.CompressionQuality}; use 0 (fastest) to 11 (smallest)");
        if (options.CachedBlockDivisor is < 1 or > 64)
            failures.Add($"CachedBlockDivisor is {options.CachedBlockDivisor}; use 1 (rsync's block size) to 64");
        if (options.CachedMinBlockSize is < 64 or > 128 * 1024)
            failures.Add($"CachedMinBlockSize is {options.CachedMinBlockSize}; use 64 to 131072 bytes");
        if (options.MaxEntries < 1)
            failures.Add($"MaxEntries is {options.MaxEntries}; use at least 1");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
