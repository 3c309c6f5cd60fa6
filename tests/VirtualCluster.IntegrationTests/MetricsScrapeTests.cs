using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// The control plane's <c>GET /metrics</c> against tools nobody here wrote: the real `promtool check metrics` accepts
/// it, and a real Prometheus server scrapes it over https (the cluster CA as <c>ca_file</c>) with a viewer token from a
/// <c>credentials_file</c>, while a second job without a token is refused (its target is down with a 401).
/// </summary>
public sealed class MetricsScrapeTests
{
    private const string PrometheusPath = "/usr/bin/prometheus";

    [Fact]
    public async Task A_real_Prometheus_scrapes_the_control_plane_over_https_with_a_viewer_token_and_promtool_accepts_it()
    {
        if (!File.Exists(PrometheusPath) || !File.Exists("/usr/bin/promtool"))
            throw new InvalidOperationException("prometheus is not installed: run scripts/install-deps.sh as root (apt-get install -y --no-install-recommends prometheus)");
        await using var cluster = await ManualCluster.StartAsync(agents: 1);
        using var api = cluster.Api();
        var token = await ViewerTokenAsync(api.Http);
        var caFile = Path.Combine(cluster.Directory, "cp", "ca.crt");

        // Not public: no token, 401 (the positive control below uses the same client with the viewer token).
        using var scraper = new HttpClient(TestTls.Handler(cluster.Url)) { BaseAddress = new Uri(cluster.Url) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await scraper.GetAsync("metrics")).StatusCode);
        scraper.DefaultRequestHeaders.Authorization = new("Bearer", token);

        var text = "";
        await Wait.UntilAsync(async () =>
        {
            text = await scraper.GetStringAsync("metrics");
            // The heartbeat counter moves inside the handler, the request's duration is recorded when the response
            // has gone: on a loaded machine a scrape can fall between the two, so wait for both.
            return Value(text, "vcluster_heartbeats_total") > 0 && text.Contains("http_server_request_duration_seconds_bucket{", StringComparison.Ordinal)
                && text.Contains("http_route=\"/v1/nodes/{id}/heartbeat\"", StringComparison.Ordinal)
                && text.Contains("vcluster_nodes{state=\"alive\"} 1\n", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), "heartbeats, the heartbeat route's request durations and the alive node in /metrics");
        Assert.Contains("vcluster_nodes{state=\"down\"} 0\n", text);
        Assert.Contains("vcluster_node_phi{node=\"", text);
        Assert.Contains("# TYPE vcluster_heartbeats_total counter", text);
        Assert.Contains("dotnet_gc_collections_total", text);
        var (code, lint) = await CheckMetricsAsync(text);
        Assert.True(code == 0 && lint.Trim().Length == 0, $"promtool check metrics: exit {code}: {lint}");

        var dir = Path.Combine(cluster.Directory, "prometheus");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "token"), token);
        var target = new Uri(cluster.Url).Authority;
        await File.WriteAllTextAsync(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: vcluster
                scheme: https
                authorization:
                  credentials_file: {Path.Combine(dir, "token")}
                tls_config:
                  ca_file: {caFile}
                static_configs:
                  - targets: ['{target}']
              - job_name: vcluster-no-token
                scheme: https
                tls_config:
                  ca_file: {caFile}
                static_configs:
                  - targets: ['{target}']
            """);
        var port = Wait.FreePort();
        using var prometheus = TestProcess.StartProgram(PrometheusPath,
            [$"--config.file={Path.Combine(dir, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(dir, "data")}",
             $"--web.listen-address=127.0.0.1:{port}"]);
        using var query = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        try
        {
            await Wait.UntilAsync(async () =>
                await QueryAsync(query, "up{job=\"vcluster\"}") == 1 && await QueryAsync(query, "up{job=\"vcluster-no-token\"}") == 0,
                TimeSpan.FromSeconds(90), "Prometheus to scrape the control plane (up 1) and fail the tokenless job (up 0)");
            await Wait.UntilAsync(async () => await QueryAsync(query, "vcluster_heartbeats_total{job=\"vcluster\"}") > 0,
                TimeSpan.FromSeconds(60), "the heartbeat counter in Prometheus");
            // A scrape that times out on a loaded machine marks the series stale until the next one, so these poll too.
            await Wait.UntilAsync(async () => await QueryAsync(query, "vcluster_nodes{job=\"vcluster\",state=\"alive\"}") == 1,
                TimeSpan.FromSeconds(30), "one alive node in Prometheus");
            await Wait.UntilAsync(async () =>
                await QueryAsync(query, "sum(http_server_request_duration_seconds_count{job=\"vcluster\",http_route=\"/v1/nodes/{id}/heartbeat\"})") > 0,
                TimeSpan.FromSeconds(30), "the heartbeat route's request count in Prometheus");

            // The tokenless job's last error is the 401 (a scrape that timed out under load says so instead, so poll).
            var lastError = "";
            await Wait.UntilAsync(async () =>
            {
                using var targets = JsonDocument.Parse(await query.GetStringAsync("api/v1/targets"));
                lastError = targets.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                    .Single(t => t.GetProperty("labels").GetProperty("job").GetString() == "vcluster-no-token")
                    .GetProperty("lastError").GetString() ?? "";
                return lastError.Contains("401", StringComparison.Ordinal);
            }, TimeSpan.FromSeconds(30), "the tokenless job's last error to be the 401");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\nprometheus output:\n{prometheus.Output}");
        }
    }

    private static async Task<string> ViewerTokenAsync(HttpClient admin)
    {
        (await admin.PostAsync("v1/users", Json("""{"name":"prometheus","role":"viewer"}"""))).EnsureSuccessStatusCode();
        var response = await admin.PostAsync("v1/users/prometheus/tokens", Json("""{"ttl":"01:00:00"}"""));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<UserTokenResponse>(VirtualClusterJson.Options))!.Token;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    // The value of an unlabelled sample in the exposition, or -1.
    private static double Value(string exposition, string name)
    {
        var line = exposition.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return line is null ? -1 : double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }

    // The first result of an instant query, or -1 when there is none yet.
    private static async Task<double> QueryAsync(HttpClient prometheus, string promql)
    {
        try
        {
            using var json = JsonDocument.Parse(await prometheus.GetStringAsync("api/v1/query?query=" + Uri.EscapeDataString(promql)));
            var result = json.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0 ? -1 : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return -1; // not listening yet
        }
    }

    private static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        var start = new ProcessStartInfo("/usr/bin/promtool", ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
