using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace VirtualCluster.Gateway.Tests.Acme;

/// <summary>
/// A real Pebble (Debian package pebble, Let's Encrypt's ACME test CA; installed by scripts/install-deps.sh) on free
/// loopback ports, with its own API certificate made here (pinned by <see cref="Handler"/>), validating HTTP-01 on
/// <c>httpPort</c> and resolving every name through the DNS server given (ours).
/// </summary>
internal sealed class Pebble : IAsyncDisposable
{
    public const string Path = "/usr/bin/pebble";
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _directory;

    private Pebble(Process process, string directory, int port, int managementPort, X509Certificate2 apiCertificate)
    {
        _process = process;
        _directory = directory;
        DirectoryUrl = new Uri($"https://127.0.0.1:{port}/dir");
        RootsUrl = new Uri($"https://127.0.0.1:{managementPort}/roots/0");
        ApiCertificate = apiCertificate;
    }

    public Uri DirectoryUrl { get; }
    public Uri RootsUrl { get; }
    public X509Certificate2 ApiCertificate { get; }
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>A handler that trusts exactly Pebble's API certificate.</summary>
    public HttpClientHandler Handler() => new() { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null && cert.RawData.AsSpan().SequenceEqual(ApiCertificate.RawData) };

    public static async Task<Pebble> StartAsync(int httpPort, int dnsPort)
    {
        Assert.True(File.Exists(Path), $"{Path} is missing: run `sudo scripts/install-deps.sh` (installs pebble)");
        var directory = Directory.CreateTempSubdirectory("h-dns14-pebble-").FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pebble", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(System.IO.Path.Combine(directory, "cert.pem"), certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(System.IO.Path.Combine(directory, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        int port = FreeTcpPort(), management = FreeTcpPort(), tls = FreeTcpPort();
        await File.WriteAllTextAsync(System.IO.Path.Combine(directory, "config.json"), $$"""
            { "pebble": { "listenAddress": "127.0.0.1:{{port}}", "managementListenAddress": "127.0.0.1:{{management}}",
              "certificate": "cert.pem", "privateKey": "key.pem", "httpPort": {{httpPort}}, "tlsPort": {{tls}},
              "ocspResponderURL": "", "externalAccountBindingRequired": false } }
            """);
        var info = new ProcessStartInfo(Path) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-config", "config.json", "-dnsserver", $"127.0.0.1:{dnsPort}"]) info.ArgumentList.Add(a);
        info.Environment["PEBBLE_VA_NOSLEEP"] = "1";
        var process = Process.Start(info)!;
        var pebble = new Pebble(process, directory, port, management, X509CertificateLoader.LoadCertificate(certificate.RawData));
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (pebble._output) pebble._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (pebble._output) pebble._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient(pebble.Handler()) { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await http.GetAsync(pebble.DirectoryUrl)).IsSuccessStatusCode) return pebble;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await pebble.DisposeAsync();
                Assert.Fail($"pebble did not serve {pebble.DirectoryUrl}: {pebble.Output}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>The root that signs what Pebble issues (a new one each run).</summary>
    public async Task<X509Certificate2> RootAsync()
    {
        using var http = new HttpClient(Handler());
        return X509Certificate2.CreateFromPem(await http.GetStringAsync(RootsUrl));
    }

    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException) { }
        _process.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
