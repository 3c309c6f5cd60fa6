using System.Security.Cryptography.X509Certificates;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Real processes: a control plane that requires agents' client certificates (--require-client-cert) and a real agent.
/// The agent joins with its own key, renews its certificate before expiry and keeps heartbeating across renewals
/// (with a 12 s lifetime, so several happen; an expired certificate would be refused and the node go down), and after a
/// restart it heartbeats with the certificate it saved.
/// </summary>
public sealed class ClientCertificateTests(ITestOutputHelper output)
{
    private static readonly string[] Strict = ["--require-client-cert"];

    [Fact]
    public async Task The_agent_renews_its_certificate_before_expiry_and_keeps_heartbeating()
    {
        await using var cluster = await ManualCluster.StartAsync(agents: 1, controlPlaneArgs: [.. Strict, "--client-cert-lifetime", "12"]);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            var dataDir = Path.Combine(cluster.Directory, "node-1");
            var first = await WaitForCertificateAsync(dataDir);
            var serials = new HashSet<string> { first.SerialNumber };
            // Three certificates in a row: the third comes after the first has expired (renewal at 2/3 of 13.2 s).
            await Wait.UntilAsync(() =>
            {
                serials.Add(ReadCertificate(dataDir).SerialNumber);
                return Task.FromResult(serials.Count >= 3);
            }, TimeSpan.FromSeconds(90), "two renewals of node-1's client certificate");
            Assert.True(DateTime.UtcNow > first.NotAfter.ToUniversalTime(), "the first certificate has expired by now");

            // Heartbeats kept coming, with the renewed certificates (the control plane refuses any other).
            using var api = cluster.Api();
            var before = (await api.StatusAsync()).Nodes.Single().Node.LastHeartbeat;
            await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Single() is { Node.State: NodeState.Alive } n && n.Node.LastHeartbeat > before,
                TimeSpan.FromSeconds(30), "a heartbeat after the renewals");
            Assert.DoesNotContain("Refused POST", cluster.ControlPlane.Output);
            Assert.Contains("client certificate (serial", cluster.Agents["node-1"].Output);
            Assert.True(Count(cluster.ControlPlane.Output, "a client certificate (serial") >= 3, cluster.ControlPlane.Output);
        });
    }

    [Fact]
    public async Task After_a_restart_the_agent_uses_its_saved_certificate_and_key()
    {
        await using var cluster = await ManualCluster.StartAsync(agents: 1, controlPlaneArgs: Strict);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            var dataDir = Path.Combine(cluster.Directory, "node-1");
            var saved = await WaitForCertificateAsync(dataDir);
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, "node.key")));
            var issued = Count(cluster.ControlPlane.Output, "a client certificate (serial");

            await cluster.KillAgentAsync("node-1");
            cluster.RestartAgent("node-1");
            using var api = cluster.Api();
            var before = (await api.StatusAsync()).Nodes.Single().Node.LastHeartbeat;
            await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Single().Node.LastHeartbeat > before.GetValueOrDefault().AddSeconds(1),
                TimeSpan.FromSeconds(60), "heartbeats from the restarted agent");

            Assert.Equal(saved.SerialNumber, ReadCertificate(dataDir).SerialNumber);
            Assert.Equal(issued, Count(cluster.ControlPlane.Output, "a client certificate (serial"));
            Assert.DoesNotContain("Refused POST", cluster.ControlPlane.Output);
        });
    }

    [Fact]
    public async Task An_agent_whose_certificate_expired_while_it_was_frozen_joins_again_and_carries_on()
    {
        await using var cluster = await ManualCluster.StartAsync(agents: 1, controlPlaneArgs: [.. Strict, "--client-cert-lifetime", "10"]);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            var dataDir = Path.Combine(cluster.Directory, "node-1");
            var agent = cluster.Agents["node-1"];
            var frozen = await WaitForCertificateAsync(dataDir);
            Native.Kill(agent.Pid, ProcessTree.SigStop);
            try
            {
                // Frozen past the certificate's expiry (renewal was due at two thirds, and never happened).
                await Wait.UntilAsync(() => Task.FromResult(DateTime.UtcNow > frozen.NotAfter.ToUniversalTime().AddSeconds(1)), TimeSpan.FromSeconds(60), "node-1's certificate to expire");
            }
            finally
            {
                Native.Kill(agent.Pid, ProcessTree.SigCont);
            }

            await Wait.UntilAsync(() => Task.FromResult(ReadCertificate(dataDir).SerialNumber != frozen.SerialNumber), TimeSpan.FromSeconds(60), "a new certificate");
            using var api = cluster.Api();
            var renewedAt = DateTimeOffset.UtcNow;
            await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Single() is { Node.State: NodeState.Alive } n && n.Node.LastHeartbeat > renewedAt,
                TimeSpan.FromSeconds(60), "heartbeats with the new certificate");
            // the expired agent was refused first, then joined again: on a new connection it presents no certificate
            // ("requires one"); on the kept-alive connection from before the freeze the server still sees the expired
            // one ("expired at"). Which connection the agent's pool uses after SIGCONT is not the test's to decide.
            Assert.Matches("requires one|expired at", cluster.ControlPlane.Output);
            Assert.Contains("joining again", agent.Output);
        });
    }

    [Fact]
    public async Task A_client_certificate_lifetime_out_of_range_ends_the_control_plane_with_a_clear_error()
    {
        var dir = Directory.CreateTempSubdirectory("vc-mtls-flags-").FullName;
        try
        {
            using var cp = TestProcess.StartDotnet(RepoPaths.HostDll,
                ["control-plane", "--data-dir", Path.Combine(dir, "cp"), "--listen", $"https://127.0.0.1:{Wait.FreePort()}", "--client-cert-lifetime", "5"]);

            Assert.Equal(2, await cp.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("error: --client-cert-lifetime 5 must be between 10 seconds and", cp.Output);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    // The node is listed once the control plane registers it, a moment before the agent has saved the join's answer.
    private static async Task<X509Certificate2> WaitForCertificateAsync(string dataDir)
    {
        await Wait.UntilAsync(() => Task.FromResult(File.Exists(Path.Combine(dataDir, "node.crt"))), TimeSpan.FromSeconds(30), "node.crt");
        return ReadCertificate(dataDir);
    }

    private static X509Certificate2 ReadCertificate(string dataDir) => X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(dataDir, "node.crt")));

    private static int Count(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
