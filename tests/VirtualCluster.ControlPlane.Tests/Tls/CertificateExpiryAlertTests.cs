using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Alerts;
using VirtualCluster.ControlPlane.Tests.Security;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tests.Tls;

/// <summary>
/// A user-supplied cluster CA that expires in ten days raises <c>CertificateExpiring</c> in <c>GET /v1/alerts</c>; the
/// CA a control plane makes itself (ten years) raises none. Real host, real https.
/// </summary>
public sealed class CertificateExpiryAlertTests
{
    private static async Task<List<AlertView>> FiringAsync(ApiSecurityHost host)
    {
        await host.Services.GetRequiredService<AlertEvaluator>().EvaluateAsync(default);
        using var client = host.Client(host.AdminToken);
        return [.. (await client.GetFromJsonAsync<AlertsResponse>("v1/alerts", VirtualClusterJson.Options))!.Firing];
    }

    [Fact]
    public async Task A_CA_that_expires_within_the_warning_window_fires_and_a_fresh_one_does_not()
    {
        var dir = Directory.CreateTempSubdirectory("vc-ca-expiry-").FullName;
        try
        {
            // Made "ten years ago minus ten days", so it expires ten days from now.
            var madeAt = new FakeTimeProvider(DateTimeOffset.UtcNow - ClusterCa.Lifetime + TimeSpan.FromDays(10));
            using (var ca = ClusterCa.Create("expiring", madeAt))
            {
                await File.WriteAllTextAsync(Path.Combine(dir, "ca.pem"), ca.CertificatePem());
                await File.WriteAllTextAsync(Path.Combine(dir, "ca.key"), ca.KeyPem());
            }
            await using (var expiring = await ApiSecurityHost.StartAsync(o =>
                         {
                             o.TlsCaCertificateFile = Path.Combine(dir, "ca.pem");
                             o.TlsCaKeyFile = Path.Combine(dir, "ca.key");
                         }, tls: true))
            {
                var alert = Assert.Single(await FiringAsync(expiring), a => a.Name == "CertificateExpiring");
                Assert.Equal(("warning", "cluster-ca"), (alert.Severity, alert.Labels["certificate"]));
                Assert.Contains("expires at", alert.Summary);
                // The server certificate is cut to the CA's end, but it is renewed by itself: not in its last quarter, no alert.
                Assert.DoesNotContain(await FiringAsync(expiring), a => a.Labels.GetValueOrDefault("certificate") == "control-plane");
            }

            await using var fresh = await ApiSecurityHost.StartAsync(tls: true);
            Assert.DoesNotContain(await FiringAsync(fresh), a => a.Name == "CertificateExpiring");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
