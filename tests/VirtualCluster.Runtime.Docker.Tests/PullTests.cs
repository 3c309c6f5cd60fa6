using System.Text.RegularExpressions;
using VirtualCluster.Runtime.Docker.Tests.Infrastructure;
using VirtualCluster.Testing;

namespace VirtualCluster.Runtime.Docker.Tests;

/// <summary>A real pull by the real daemon, from a registry the test serves on loopback.</summary>
public sealed class PullTests : DockerFixture
{
    [DockerFact]
    public async Task A_missing_image_is_pulled_with_progress_in_the_status_then_runs()
    {
        using var registry = LoopbackRegistry.Start(chunkDelay: TimeSpan.FromMilliseconds(15));
        RemoveImageAfterwards(registry.Image);
        var driver = NewDriver();
        var port = Poll.FreePort();
        var spec = Httpd() with { Image = registry.Image };

        var status = await driver.StartAsync(Request("pull-1", spec, new Dictionary<string, int> { ["http"] = port }));
        Assert.Equal((WorkloadState.Starting, $"pulling image {registry.Image}"), (status.State, status.Message));
        var seen = new List<string>();
        await Poll.UntilAsync(async () =>
        {
            status = await driver.GetStatusAsync("pull-1");
            if (seen.Count == 0 || seen[^1] != status.Message) seen.Add(status.Message);
            return status.State is WorkloadState.Running or WorkloadState.Failed;
        }, "the pull and start", TimeSpan.FromSeconds(120));
        Assert.True(status.State == WorkloadState.Running, status.Message + "\n" + string.Join("\n", seen));
        var percents = seen.Select(m => Regex.Match(m, $@"^pulling image {Regex.Escape(registry.Image)}: (\d+)%$"))
            .Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.True(percents.Count >= 2, "expected progress as percentages, saw:\n" + string.Join("\n", seen));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string body = "";
        await Poll.UntilAsync(async () =>
        {
            try { body = await http.GetStringAsync($"http://127.0.0.1:{port}/"); return true; }
            catch (HttpRequestException) { return false; }
        }, "httpd from the pulled image to answer");
        Assert.Contains("hello from a pulled image", body);
    }
}
