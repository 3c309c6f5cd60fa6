using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// A real Pebble (Debian package pebble, Let's Encrypt's ACME test CA; scripts/install-deps.sh installs it). Its API
/// certificate is made here first, so the gateway can pin it (<see cref="ApiFingerprint"/>) before Pebble runs; it
/// validates HTTP-01 on the port given and resolves names through the DNS server given.
/// </summary>
internal sealed class PebbleServer : IAsyncDisposable
{
    private const string Executable = "/usr/bin/pebble";
    private readonly string _directory = Directory.CreateTempSubdirectory("h-dns14-pebble-").FullName;
    private readonly X509Certificate2 _api;
    private readonly StringBuilder _output = new();
    private readonly int _port = Wait.FreePort(), _management = Wait.FreePort();
    private Process? _process;

    public PebbleServer()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pebble", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(_directory, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_directory, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        _api = X509CertificateLoader.LoadCertificate(certificate.RawData);
    }

    public string DirectoryUrl => $"https://127.0.0.1:{_port}/dir";
    public string ApiFingerprint => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(_api.RawData));
    public string Output { get { lock (_output) return _output.ToString(); } }

    public HttpClientHandler Handler() => new() { ServerCertificateCustomValidationCallback = (_, c, _, _) => c is not null && c.RawData.AsSpan().SequenceEqual(_api.RawData) };

    public async Task StartAsync(int httpPort, int dnsPort)
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: run `sudo scripts/install-deps.sh` (installs pebble)");
        await File.WriteAllTextAsync(Path.Combine(_directory, "config.json"), $$"""
            { "pebble": { "listenAddress": "127.0.0.1:{{_port}}", "managementListenAddress": "127.0.0.1:{{_management}}",
              "certificate": "cert.pem", "privateKey": "key.pem", "httpPort": {{httpPort}}, "tlsPort": {{Wait.FreePort()}},
              "ocspResponderURL": "", "externalAccountBindingRequired": false } }
            """);
        var info = new ProcessStartInfo(Executable) { WorkingDirectory = _directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-config", "config.json", "-dnsserver", $"127.0.0.1:{dnsPort}"]) info.ArgumentList.Add(a);
        info.Environment["PEBBLE_VA_NOSLEEP"] = "1";
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var http = new HttpClient(Handler()) { Timeout = TimeSpan.FromSeconds(5) };
        await Wait.UntilAsync(async () =>
        {
            Assert.False(_process.HasExited, $"pebble exited: {Output}");
            try { return (await http.GetAsync(DirectoryUrl)).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
            catch (TaskCanceledException) { return false; }
        }, TimeSpan.FromSeconds(60), $"pebble to serve {DirectoryUrl}");
    }

    /// <summary>The PEM of the root that signs what Pebble issues (a new one each run).</summary>
    public async Task<string> RootPemAsync()
    {
        using var http = new HttpClient(Handler());
        return await http.GetStringAsync($"https://127.0.0.1:{_management}/roots/0");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            try
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException) { }
            _process.Dispose();
        }
        _api.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
