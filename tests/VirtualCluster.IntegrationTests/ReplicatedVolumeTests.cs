using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Replicated volumes on real processes (issue 16): a stateful service appends numbered records to a file in its
/// volume (HelloService with APPEND_RECORDS_TO: one write and one fsync per record); its machine is SIGKILLed (agent
/// and workload); it comes back on the holder with the newest replica, with every record up to the last completed
/// sync and none torn, and the event log names the sync it started from.
/// </summary>
public sealed partial class ReplicatedVolumeTests(ITestOutputHelper output)
{
    private const string Service = JournalService.Name;

    [Fact]
    public async Task A_stateful_service_comes_back_after_kill_9_of_its_machine_with_every_record_of_the_last_completed_sync()
    {
        await using var cluster = await ManualCluster.StartAsync(3);
        await cluster.WithDiagnosticsAsync(output, () => KillAndRestoreAsync(cluster));
    }

    private async Task KillAndRestoreAsync(ManualCluster cluster)
    {
        using var api = cluster.Api();
        var view = await JournalService.DeployAsync(cluster);
        var original = view.Instances.Single();
        var victim = original.NodeName;
        var records = JournalService.RecordsPath(cluster, victim, original.Instance.Id);

        // Both holders have completed syncs, and the API shows them.
        var replicas = await JournalService.WaitReplicatedAsync(api, original.Instance.Id, TimeSpan.FromSeconds(60));
        Assert.All(replicas, r => Assert.NotEqual(victim, r.Holder));

        // Records written before `written` are covered by any sync that started after it.
        await Wait.UntilAsync(() => Task.FromResult(JournalService.Read(records).Count >= 20), TimeSpan.FromSeconds(30), "20 records written");
        var covered = JournalService.Read(records).Count;
        var written = DateTimeOffset.UtcNow;
        IReadOnlyList<ReplicaView> before = [];
        await Wait.UntilAsync(async () =>
        {
            before = (await api.ServiceAsync(Service))!.Instances.Single().Replicas ?? [];
            return before.Count == 2 && before.All(r => r.LastSyncAt > written);
        }, TimeSpan.FromSeconds(30), $"a sync covering record {covered} on both holders");
        foreach (var r in before) output.WriteLine($"before the kill: {r.Volume} on {r.Holder}: sync {r.Sequence} at {r.LastSyncAt:HH:mm:ss.fff}, lag {r.LagSeconds:0.00} s, {r.BytesBehind} B behind");
        // The lag shown is what a kill would lose: with writes every 20 ms and sync "500ms", well under a few seconds.
        Assert.All(before, r => Assert.InRange(r.LagSeconds, 0, 5));

        var shown = (await api.ServiceAsync(Service))!.Instances.Single().Replicas!.Max(r => r.LagSeconds);
        var killed = ProcessTree.KillMachine(cluster.Agents[victim].Pid);
        var killedAt = DateTimeOffset.UtcNow;
        output.WriteLine($"SIGKILLed {victim} ({killed.Count} processes) with {covered} records covered by a completed sync; the file had {JournalService.Read(records).Count} by then");

        InstanceView? replacement = null;
        await Wait.UntilAsync(async () =>
        {
            replacement = (await api.ServiceAsync(Service))!.Instances.SingleOrDefault(i => i.NodeName != victim && i.Instance.State == InstanceState.Running);
            return replacement is not null;
        }, TimeSpan.FromSeconds(90), "the replacement running on another node");
        output.WriteLine($"{replacement!.Instance.Id} running on {replacement.NodeName} {(DateTimeOffset.UtcNow - killedAt).TotalSeconds:0.0} s after the kill");
        Assert.Contains(replacement.NodeName, before.Select(r => r.Holder));

        // Its file: the restored records, then the ones it appends; every one whole and numbered in order.
        var restoredPath = JournalService.RecordsPath(cluster, replacement.NodeName, replacement.Instance.Id);
        await Wait.UntilAsync(() => Task.FromResult(JournalService.Read(restoredPath).Count > covered + 10), TimeSpan.FromSeconds(30), "the replacement appending");
        var (count, clean) = JournalService.Read(restoredPath);
        Assert.True(clean, $"{restoredPath}: a torn or damaged record after {count} good ones");

        // What it started from is in its log ("holds N record(s)") and in the event log (the sync number).
        var started = await JournalService.StartedFromAsync(api, replacement.Instance.Id);
        output.WriteLine($"the replacement started from {started} records ({covered} were covered before the kill)");
        Assert.True(started >= covered, $"started from {started} records, fewer than the {covered} a completed sync covered");
        // What the kill lost, in seconds of writes (a record every 20 ms), against the lag the API showed just before.
        var atKill = JournalService.Read(records).Count;
        var lost = (atKill - started) * 0.020;
        output.WriteLine($"lost {atKill - started} of {atKill} records = {lost:0.00} s of writes; the lag shown just before the kill was {shown:0.00} s");
        Assert.InRange(lost, 0, shown + 0.5 + 2.0); // the lag shown, plus one sync interval and a report's delay

        List<ClusterEvent> events = [];
        await Wait.UntilAsync(async () =>
        {
            events = await cluster.EventsAsync($"service={Service}");
            return events.Any(e => e.Kind == EventKinds.VolumeRestored) && events.Any(e => e.Kind == EventKinds.VolumeSeeded);
        }, TimeSpan.FromSeconds(30), "volume.restored and volume.seeded events");
        var restored = events.Single(e => e.Kind == EventKinds.VolumeRestored);
        output.WriteLine($"{restored.Kind}: {restored.Message}");
        output.WriteLine($"{EventKinds.VolumeSeeded}: {events.Single(e => e.Kind == EventKinds.VolumeSeeded).Message}");
        Assert.Equal(replacement.Instance.Id, restored.Instance);
        var sequence = long.Parse(SyncPattern().Match(restored.Message).Groups[1].Value, CultureInfo.InvariantCulture);
        var seen = before.Single(r => r.Holder == replacement.NodeName).Sequence;
        Assert.True(sequence >= seen, $"the failover started from sync {sequence}, older than sync {seen} seen on that holder before the kill");
        Assert.True(replacement.Instance.Epoch > original.Instance.Epoch, "the replacement must carry a newer epoch");
    }


    [GeneratedRegex(@"at sync (\d+)")]
    private static partial Regex SyncPattern();

}
