namespace VirtualCluster.P2P.Tests;

internal static class Hex
{
    /// <summary>Bytes from hex with any whitespace.</summary>
    public static byte[] Bytes(string text) => Convert.FromHexString(string.Concat(text.Where(c => !char.IsWhiteSpace(c))));
}
