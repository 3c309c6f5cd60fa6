using System.Net.Http.Json;
using System.Text;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// A service with a secret on a real control plane and agents: the workload gets the value (positive control: it logs the
/// value's SHA-256), and a
/// search of every file the cluster wrote (the store, its journal, the agents' data and instance logs), every process's
/// output and every API answer finds it nowhere.
/// </summary>
public sealed class SecretLeakTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Value = "zq-8d1f-secret-value-4471";

    [Fact]
    public async Task A_secret_reaches_its_workload_and_nothing_else()
    {
        await using var cluster = await ManualCluster.StartAsync(agents: 2);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            // The workload proves it got the value without printing it (nor is the value anywhere in the spec but secrets).
            var spec = $$"""
                { "name": "vault", "command": "/bin/sh",
                  "args": ["-c", "printf %s \"$DB_PASSWORD\" | sha256sum | sed 's/^/digest=/'; exec sleep 600"],
                  "resources": { "cpu": "50m", "memory": "16Mi" }, "secrets": { "DB_PASSWORD": "{{Value}}" } }
                """.Replace("{{Value}}", Value, StringComparison.Ordinal);
            var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Value)));
            using var api = cluster.Api();
            using (var deployed = await api.Http.PostAsync("/v1/services", new StringContent(spec, Encoding.UTF8, "application/json")))
            {
                var answer = await deployed.Content.ReadAsStringAsync();
                Assert.True(deployed.IsSuccessStatusCode, answer);
                Assert.DoesNotContain(Value, answer, StringComparison.Ordinal);
            }
            await api.WaitRunningAsync("vault", TimeSpan.FromSeconds(60));
            await Wait.UntilAsync(async () => (await LogsAsync(api)).Contains("digest=", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the workload's digest");
            Assert.Contains("digest=" + digest, await LogsAsync(api), StringComparison.Ordinal);

            var answers = new StringBuilder();
            foreach (var path in new[] { "/v1/status", "/v1/services", "/v1/services/vault", "/v1/services/vault/explain", "/v1/services/vault/logs?tail=1000",
                         "/v1/events?limit=1000", "/v1/nodes" })
            {
                using var response = await api.Http.GetAsync(path);
                answers.AppendLine(await response.Content.ReadAsStringAsync());
            }
            Assert.Contains("DB_PASSWORD", answers.ToString(), StringComparison.Ordinal); // the name is shown
            Assert.DoesNotContain(Value, answers.ToString(), StringComparison.Ordinal);

            var needle = Encoding.UTF8.GetBytes(Value);
            var files = Directory.EnumerateFiles(cluster.Directory, "*", SearchOption.AllDirectories).ToList();
            Assert.Contains(files, f => f.EndsWith(".db", StringComparison.Ordinal)); // positive control: the store is among them
            foreach (var file in files)
            {
                byte[] bytes;
                try { bytes = await File.ReadAllBytesAsync(file); }
                catch (IOException) { continue; } // a socket or a file removed meanwhile
                Assert.False(bytes.AsSpan().IndexOf(needle) >= 0, $"the secret is in {file}");
            }
            Assert.DoesNotContain(Value, cluster.ControlPlane.Output, StringComparison.Ordinal);
            foreach (var (name, agent) in cluster.Agents) Assert.False(agent.Output.Contains(Value, StringComparison.Ordinal), $"the secret is in the output of {name}");
        });
    }

    private static async Task<string> LogsAsync(ApiClient api)
    {
        var logs = await api.Http.GetFromJsonAsync<LogsResponse>("/v1/services/vault/logs?tail=100", VirtualClusterJson.Options);
        return string.Join('\n', logs!.Lines.Select(l => l.Line.Text));
    }
}
