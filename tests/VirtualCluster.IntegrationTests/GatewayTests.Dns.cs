using System.Diagnostics;
using System.Text.RegularExpressions;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>The gateway of `local --dns-listen` answers DNS for the cluster domain, asked by the real `dig`.</summary>
public sealed partial class GatewayTests
{
    [Fact]
    public async Task Dig_resolves_a_deployed_service_at_the_gateway_and_unknown_names_are_NXDOMAIN()
    {
        var log = Path.Combine(fixture.Cluster.DataDirectory, "logs", "gateway.log");
        var port = 0;
        await Wait.UntilAsync(async () =>
        {
            var text = File.Exists(log) ? await ReadSharedAsync(log) : "";
            var match = DnsListening().Match(text);
            if (match.Success) port = int.Parse(match.Groups[1].Value);
            return match.Success;
        }, TimeSpan.FromSeconds(30), $"the gateway to log its DNS port in {log}");

        var hello = await DigAsync(port, "hello.localhost", "A");
        Assert.Contains("status: NOERROR", hello);
        Assert.Matches(@"flags: qr aa rd;", hello);
        Assert.Matches(@"hello\.localhost\.\s+30\s+IN\s+A\s+127\.0\.0\.1", hello);

        var unknown = await DigAsync(port, "not-deployed.localhost", "A");
        Assert.Contains("status: NXDOMAIN", unknown);
        Assert.Matches(@"localhost\.\s+30\s+IN\s+SOA\s+ns1\.localhost\.", unknown);
    }

    private async Task<string> DigAsync(int port, params string[] arguments)
    {
        Assert.True(File.Exists("/usr/bin/dig"), "/usr/bin/dig is missing: run `sudo scripts/install-deps.sh` (installs dnsutils)");
        var info = new ProcessStartInfo("/usr/bin/dig") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["@127.0.0.1", "-p", port.ToString(), "+tries=2", "+time=3", .. arguments]) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await process.WaitForExitAsync(timeout.Token); }
        finally { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        var text = await stdout;
        output.WriteLine($"$ dig -p {port} {string.Join(' ', arguments)}\n{text}");
        return text;
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    [GeneratedRegex(@"DNS: answering for localhost on udp 127\.0\.0\.1:(\d+)")]
    private static partial Regex DnsListening();
}
