using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Real processes: a control plane serving https with its cluster CA and a real agent joining with a join token that
/// carries the CA's fingerprint. A man in the middle (another cluster's control plane at the address the agent was
/// given) never gets the join token; the same agent pointed at its own cluster joins (the positive control).
/// </summary>
public sealed class TlsJoinTests
{
    [Fact]
    public async Task An_agent_refuses_a_control_plane_with_another_CA_and_joins_its_own()
    {
        await using var cluster = await ManualCluster.StartAsync(agents: 0);
        await using var middle = await ManualCluster.StartAsync(agents: 0);
        var joinToken = Path.Combine(cluster.Directory, "cp", "join.token");
        var dataDir = Path.Combine(cluster.Directory, "mitm-agent");
        string[] Args(string server) =>
            ["agent", "--server", server, "--join-token-file", joinToken, "--name", "node-tls", "--data-dir", dataDir, "--ports", "44000-44099", "--docker", "off"];

        using (var fooled = TestProcess.StartDotnet(RepoPaths.HostDll, Args(middle.Url)))
        {
            await fooled.WaitForOutputAsync("not the cluster's CA", TimeSpan.FromSeconds(90));
            Assert.Contains("man in the middle", fooled.Output);
            using var middleApi = middle.Api();
            Assert.Empty((await middleApi.StatusAsync()).Nodes);
            Assert.False(File.Exists(Path.Combine(dataDir, "agent.json")), "no identity from the wrong cluster");
            fooled.Signal(2);
            await fooled.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        using var agent = TestProcess.StartDotnet(RepoPaths.HostDll, Args(cluster.Url));
        try
        {
            using var api = cluster.Api();
            await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Any(n => n.Node.Name == "node-tls" && n.Node.State == NodeState.Alive),
                TimeSpan.FromSeconds(90), "node-tls to join its own cluster over https");
            // The fingerprint is kept, so a restart without the join token still trusts only this CA.
            await Wait.UntilAsync(() => Task.FromResult(File.Exists(Path.Combine(dataDir, "agent.json"))), TimeSpan.FromSeconds(30), "agent.json");
            Assert.Contains(TestTls.ReadFingerprint(Path.Combine(cluster.Directory, "cp")), await File.ReadAllTextAsync(Path.Combine(dataDir, "agent.json")));
        }
        finally
        {
            agent.Signal(2);
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
    }
}

/// <summary>Bad TLS flags end the host with a message naming the flag and the fix, not a stack trace.</summary>
public sealed class TlsFlagTests
{
    [Fact]
    public async Task A_CA_file_that_is_not_a_CA_ends_the_control_plane_with_a_clear_error()
    {
        var dir = Directory.CreateTempSubdirectory("vc-tls-flags-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "ca.pem"), "not a certificate");
            File.WriteAllText(Path.Combine(dir, "key.pem"), "not a key");
            using var cp = TestProcess.StartDotnet(RepoPaths.HostDll,
                ["control-plane", "--data-dir", Path.Combine(dir, "cp"), "--listen", $"https://127.0.0.1:{Wait.FreePort()}",
                 "--tls-ca-cert", Path.Combine(dir, "ca.pem"), "--tls-ca-key", Path.Combine(dir, "key.pem")]);

            Assert.Equal(2, await cp.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("error: cannot use the CA in", cp.Output);
            Assert.Contains("not a PEM certificate", cp.Output);
            Assert.DoesNotContain("Unhandled exception", cp.Output);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_malformed_ca_fingerprint_ends_the_agent_with_a_clear_error()
    {
        var dir = Directory.CreateTempSubdirectory("vc-tls-flags-").FullName;
        try
        {
            using var agent = TestProcess.StartDotnet(RepoPaths.HostDll,
                ["agent", "--server", "https://127.0.0.1:1", "--data-dir", dir, "--ca-fingerprint", "sha256:zz"]);

            Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("--ca-fingerprint: the CA fingerprint \"sha256:zz\" needs exactly 64 hex digits", agent.Output);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
