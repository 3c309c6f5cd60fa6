namespace VirtualCluster.Replication.Delta;

/// <summary>
/// The weak checksum of rsync (Tridgell and Mackerras, "The rsync algorithm", 1996), after Adler-32: over a window
/// x[0..n), a = Σ x[i] and b = Σ (n − i)·x[i], both mod 2^16, and the checksum is a + 2^16·b. Sliding the window by one
/// byte costs O(1): a' = a − x_out + x_in, b' = b − n·x_out + a'. It only filters candidates; a strong hash confirms.
/// </summary>
internal struct RollingChecksum
{
    private uint _a;
    private uint _b;
    private readonly uint _length;

    public RollingChecksum(ReadOnlySpan<byte> window)
    {
        _length = (uint)window.Length;
        uint a = 0, b = 0;
        var n = (uint)window.Length;
        for (var i = 0; i < window.Length; i++)
        {
            a += window[i];
            b += (n - (uint)i) * window[i];
        }
        _a = a;
        _b = b;
    }

    public readonly uint Value => (_a & 0xFFFF) | (_b << 16);

    public void Roll(byte outgoing, byte incoming)
    {
        _a = _a - outgoing + incoming;
        _b = _b - _length * outgoing + _a;
    }

    public static uint Of(ReadOnlySpan<byte> window) => new RollingChecksum(window).Value;
}

/// <summary>How long the blocks of a file's signature are.</summary>
public static class BlockSize
{
    /// <summary>
    /// rsync's rule: the square root of the file's length, rounded down to a multiple of 8, at least
    /// <paramref name="min"/> (rsync: 700) and at most <paramref name="max"/> (rsync: 128 KiB). The signature then
    /// has about √length blocks, balancing signature bytes against the literal bytes a changed block costs.
    /// </summary>
    public static int For(long length, int min = 700, int max = 128 * 1024)
    {
        if (length <= (long)min * min) return min;
        var root = (long)Math.Sqrt(length) & ~7L;
        return (int)Math.Clamp(root, min, max);
    }
}
