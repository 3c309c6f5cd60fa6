namespace VirtualCluster.Replication.Delta;

/// <summary>
/// The delta format. A delta is a sequence of operations that rebuild the target from the basis:
/// <code>
/// varint magic "VDL1" · varint basis block length (0: no basis)
/// op 1 COPY    varint first block · varint block count       (bytes of the basis)
/// op 2 LITERAL varint length (1 .. 1 MiB) · bytes             (new bytes)
/// op 0 END     varint target length · 32 bytes SHA-256 of the target
/// </code>
/// Literals are raw here: compression is a layer around the whole stream (<see cref="DeltaCompression"/>), so
/// literal bytes are compressed with the context of everything sent before them, as rsync's <c>-z</c> does.
/// </summary>
public static class DeltaFormat
{
    internal const uint Magic = 0x314C4456; // "VDL1"
    internal const byte End = 0;
    internal const byte Copy = 1;
    internal const byte Literal = 2;

    /// <summary>Largest literal operation; larger runs are split.</summary>
    public const int MaxLiteral = 1024 * 1024;
}

/// <summary>What a delta carried.</summary>
/// <param name="TargetLength">Bytes of the target it rebuilds.</param>
/// <param name="LiteralBytes">Bytes sent as literals (before compression).</param>
/// <param name="CopiedBytes">Bytes taken from the basis.</param>
/// <param name="TargetHash">SHA-256 of the target.</param>
public sealed record DeltaStats(long TargetLength, long LiteralBytes, long CopiedBytes, byte[] TargetHash);
