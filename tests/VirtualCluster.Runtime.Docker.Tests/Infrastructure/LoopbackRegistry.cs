using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace VirtualCluster.Testing;

/// <summary>
/// The smallest Docker registry (HTTP API v2, schema 2 manifests) that a real dockerd pulls from: one image,
/// <c>127.0.0.1:port/vc/pulled:1</c>, one layer holding busybox (httpd, sh) and an index page, served slowly in
/// small chunks so the pull reports progress. Loopback only: dockerd treats 127.0.0.0/8 as an insecure registry and
/// falls back to plain HTTP. Shared by the driver tests and the integration tests (linked source).
/// </summary>
public sealed class LoopbackRegistry : IDisposable
{
    public const string Repository = "vc/pulled";
    public const string Tag = "1";

    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly byte[] _manifest;
    private readonly string _manifestDigest;
    private readonly TimeSpan _chunkDelay;

    private LoopbackRegistry(int port, TimeSpan chunkDelay)
    {
        Port = port;
        _chunkDelay = chunkDelay;
        var (layer, diffId) = Layer();
        var layerDigest = Digest(layer);
        _blobs[layerDigest] = layer;
        var config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = "amd64",
            os = "linux",
            config = new { Env = new[] { "PATH=/bin" }, Cmd = new[] { "/bin/sh" } },
            rootfs = new { type = "layers", diff_ids = new[] { diffId } },
        });
        var configDigest = Digest(config);
        _blobs[configDigest] = config;
        _manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = "application/vnd.docker.distribution.manifest.v2+json",
            config = new { mediaType = "application/vnd.docker.container.image.v1+json", size = config.Length, digest = configDigest },
            layers = new[] { new { mediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip", size = layer.Length, digest = layerDigest } },
        });
        _manifestDigest = Digest(_manifest);
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = ServeAsync();
    }

    public int Port { get; }

    public string Image => $"127.0.0.1:{Port}/{Repository}:{Tag}";

    /// <summary>Starts on a free loopback port. <paramref name="chunkDelay"/> paces each 32 KiB of a blob.</summary>
    public static LoopbackRegistry Start(TimeSpan chunkDelay)
    {
        var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new LoopbackRegistry(port, chunkDelay);
    }

    public void Dispose() => _listener.Close();

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = AnswerAsync(context);
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
            var path = context.Request.Url!.AbsolutePath;
            var head = context.Request.HttpMethod == "HEAD";
            if (path == "/v2/")
            {
                await SendAsync(response, "application/json", "{}"u8.ToArray(), head, paced: false);
            }
            else if (path == $"/v2/{Repository}/manifests/{Tag}" || path == $"/v2/{Repository}/manifests/{_manifestDigest}")
            {
                response.Headers["Docker-Content-Digest"] = _manifestDigest;
                await SendAsync(response, "application/vnd.docker.distribution.manifest.v2+json", _manifest, head, paced: false);
            }
            else if (path.StartsWith($"/v2/{Repository}/blobs/", StringComparison.Ordinal) && _blobs.TryGetValue(path[(path.LastIndexOf('/') + 1)..], out var blob))
            {
                response.Headers["Docker-Content-Digest"] = path[(path.LastIndexOf('/') + 1)..];
                await SendAsync(response, "application/octet-stream", blob, head, paced: true);
            }
            else
            {
                response.StatusCode = 404;
                await SendAsync(response, "application/json", """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"""u8.ToArray(), head, paced: false);
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The daemon hung up.
        }
        finally
        {
            try { response.Close(); } catch (ObjectDisposedException) { }
        }
    }

    private async Task SendAsync(HttpListenerResponse response, string type, byte[] body, bool head, bool paced)
    {
        response.ContentType = type;
        response.ContentLength64 = body.Length;
        if (head) return;
        const int chunk = 32 * 1024;
        for (var offset = 0; offset < body.Length; offset += chunk)
        {
            await response.OutputStream.WriteAsync(body.AsMemory(offset, Math.Min(chunk, body.Length - offset)));
            await response.OutputStream.FlushAsync();
            if (paced && _chunkDelay > TimeSpan.Zero) await Task.Delay(_chunkDelay);
        }
    }

    /// <summary>A gzipped tar of bin/busybox (+ sh and httpd links), www/index.html and some incompressible filler.</summary>
    private static (byte[] Gzipped, string DiffId) Layer()
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var dir in new[] { "bin/", "www/", "tmp/" })
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, dir) { Mode = (UnixFileMode)0b111_101_101 });
            var busybox = File.Exists("/bin/busybox") ? "/bin/busybox" : "/usr/bin/busybox";
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox")
            {
                Mode = (UnixFileMode)0b111_101_101,
                DataStream = new MemoryStream(File.ReadAllBytes(busybox)),
            });
            foreach (var applet in new[] { "sh", "httpd" })
                writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox" });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "www/index.html")
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes("<html><body>hello from a pulled image</body></html>\n")),
            });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "filler.bin") { DataStream = new MemoryStream(RandomNumberGenerator.GetBytes(2 << 20)) });
        }
        var raw = tar.ToArray();
        using var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) zip.Write(raw);
        return (gz.ToArray(), Digest(raw));
    }

    private static string Digest(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
}
