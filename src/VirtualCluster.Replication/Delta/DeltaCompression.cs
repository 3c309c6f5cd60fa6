namespace VirtualCluster.Replication.Delta;

/// <summary>
/// The compression layer around deltas and sync messages (<see cref="AdaptiveCompressionStream"/>): one Brotli
/// encoder per message, so literals are compressed with the context of the whole message (small scattered literals
/// gain from it, unlike per-chunk compression), and segments that look incompressible are stored raw.
/// </summary>
public static class DeltaCompression
{
    /// <summary>A stream that compresses into <paramref name="output"/>; dispose it to finish the message.</summary>
    public static Stream Compress(Stream output, int quality, bool leaveOpen = true) =>
        new AdaptiveCompressionStream(output, quality, leaveOpen);

    /// <summary>A stream that decompresses <paramref name="input"/>. Corrupt input surfaces as a <see cref="ReplicationException"/> from the readers of this package.</summary>
    public static Stream Decompress(Stream input, bool leaveOpen = true) => new AdaptiveDecompressionStream(input, leaveOpen);
}
