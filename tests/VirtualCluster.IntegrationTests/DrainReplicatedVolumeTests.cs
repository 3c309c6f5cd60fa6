using System.Globalization;
using System.Text.RegularExpressions;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// A drain of a stateful service loses no record (issue 16): the journal service appends a record every 20 ms to its
/// replicated volume; `vcluster drain` stops it, syncs the volume one last time, and only then starts the replacement on
/// the holder of that sync, which starts from exactly the records the old copy had written. Real processes.
/// </summary>
public sealed partial class DrainReplicatedVolumeTests(ITestOutputHelper output)
{
    private const string Service = JournalService.Name;

    [Fact]
    public async Task Draining_the_node_of_a_stateful_service_moves_it_with_every_record()
    {
        await using var cluster = await ManualCluster.StartAsync(3);
        await cluster.WithDiagnosticsAsync(output, () => DrainAsync(cluster));
    }

    private async Task DrainAsync(ManualCluster cluster)
    {
        using var api = cluster.Api();
        var original = (await JournalService.DeployAsync(cluster)).Instances.Single();
        var drained = original.NodeName;
        var records = JournalService.RecordsPath(cluster, drained, original.Instance.Id);
        await JournalService.WaitReplicatedAsync(api, original.Instance.Id, TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(() => Task.FromResult(JournalService.Read(records).Count >= 20), TimeSpan.FromSeconds(30), "20 records written");

        var (code, text) = await CliRunner.RunAsync(cluster.CliEnv, "drain", drained);
        Assert.True(code == 0, text);
        output.WriteLine(text);

        InstanceView? replacement = null;
        await Wait.UntilAsync(async () =>
        {
            replacement = (await api.ServiceAsync(Service))!.Instances.SingleOrDefault(i => i.NodeName != drained && i.Instance.State == InstanceState.Running);
            return replacement is not null;
        }, TimeSpan.FromSeconds(90), "the replacement running on another node");

        // The old copy is stopped: its file no longer grows, and every record in it is in the replacement's start.
        var (written, clean) = JournalService.Read(records);
        Assert.True(clean, $"{records}: a torn record after {written}");
        var started = await JournalService.StartedFromAsync(api, replacement!.Instance.Id);
        output.WriteLine($"the old copy wrote {written} records; the replacement on {replacement.NodeName} started from {started}");
        Assert.Equal(written, started); // no record lost, none invented
        var restoredPath = JournalService.RecordsPath(cluster, replacement.NodeName, replacement.Instance.Id);
        await Wait.UntilAsync(() => Task.FromResult(JournalService.Read(restoredPath).Count > written + 5), TimeSpan.FromSeconds(30), "the replacement appending");
        Assert.True(JournalService.Read(restoredPath).Clean);

        var events = await cluster.EventsAsync($"service={Service}");
        Assert.Contains(events, e => e.Kind == EventKinds.InstanceMoving && e.Instance == original.Instance.Id);
        Assert.Contains(events, e => e.Kind == EventKinds.VolumeRestored && e.Instance == replacement.Instance.Id);
        Assert.Contains(events, e => e.Kind == "instance.stopped" && e.Message.Contains("final sync to", StringComparison.Ordinal));
    }


}
