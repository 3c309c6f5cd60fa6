using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>A real browser over HTTPS: headless Chromium whose only extra trust is a root added to its NSS store.</summary>
internal static class BrowserHttps
{
    /// <summary>
    /// Chromium, trusting <paramref name="rootPemPath"/> and nothing else beyond its built-in roots, loads
    /// <paramref name="url"/> (its host mapped to 127.0.0.1, so the name stays the SNI and the name checked) until the
    /// page shows <paramref name="expected"/>. Then the control: the same browser with an empty NSS store must refuse the
    /// certificate with ERR_CERT_AUTHORITY_INVALID, so the added root, not a lax browser, is what made the load work.
    /// </summary>
    public static async Task AssertLoadsTrustingOnlyAsync(string url, string rootPemPath, string expected, ITestOutputHelper output)
    {
        string[] resolve = [$"--host-resolver-rules=MAP {new Uri(url).Host} 127.0.0.1"];
        using (var trusting = NssHome.Create(rootPemPath))
        {
            var (dom, errors) = ("", "");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (!dom.Contains(expected, StringComparison.Ordinal))
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new TimeoutException($"chromium trusting Pebble's root never showed \"{expected}\" at {url}; last DOM:\n{dom}\nstderr:\n{errors}");
                (dom, errors) = await Chromium.DumpDomAsync(url, trusting.Path, left < TimeSpan.FromSeconds(60) ? left : TimeSpan.FromSeconds(60), resolve);
                if (!dom.Contains(expected, StringComparison.Ordinal)) await Task.Delay(500); // a poll interval, not a wait for something
            }
            output.WriteLine($"chromium (NSS store trusting Pebble's root) {url}: {dom.Trim()}");
        }

        using var untrusting = NssHome.Create(null);
        var (refused, why) = await Chromium.DumpDomAsync(url, untrusting.Path, TimeSpan.FromSeconds(60), resolve);
        Assert.DoesNotContain(expected, refused);
        Assert.Contains("ERR_CERT_AUTHORITY_INVALID", why);
        output.WriteLine($"chromium (empty NSS store) {url}: {why.Split('\n').First(l => l.Contains("ERR_CERT_AUTHORITY_INVALID", StringComparison.Ordinal)).Trim()}");
    }
}
