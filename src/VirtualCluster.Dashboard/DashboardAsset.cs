using System.IO.Compression;
using System.Security.Cryptography;

namespace VirtualCluster.Dashboard;

/// <summary>One embedded file of the dashboard, with its Brotli and gzip forms made once at start.</summary>
internal sealed class DashboardAsset
{
    private DashboardAsset(string name, string contentType, byte[] raw)
    {
        Name = name;
        ContentType = contentType;
        Raw = raw;
        Brotli = Compress(raw, s => new BrotliStream(s, CompressionLevel.SmallestSize, leaveOpen: true));
        Gzip = Compress(raw, s => new GZipStream(s, CompressionLevel.SmallestSize, leaveOpen: true));
        ETag = "\"" + Convert.ToHexStringLower(SHA256.HashData(raw).AsSpan(0, 12)) + "\"";
    }

    public string Name { get; }

    public string ContentType { get; }

    public string ETag { get; }

    public byte[] Raw { get; }

    public byte[] Brotli { get; }

    public byte[] Gzip { get; }

    public static DashboardAsset Create(string name, byte[] raw) => new(name, ContentTypeOf(name), raw);

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    private static byte[] Compress(byte[] raw, Func<Stream, Stream> wrap)
    {
        using var output = new MemoryStream();
        using (var compressor = wrap(output)) compressor.Write(raw);
        return output.ToArray();
    }
}
