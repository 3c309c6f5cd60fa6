using System.Net.Http.Json;
using System.Diagnostics;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>Needs root and mount(8) (a small tmpfs stands in for a full disk); skipped with the reason otherwise. CI runs as root.</summary>
public sealed class MountFactAttribute : FactAttribute
{
    public MountFactAttribute()
    {
        if (UnavailableReason() is { } reason) Skip = reason;
    }

    /// <summary>Why a tmpfs cannot be mounted here; null when it can (root on Linux with mount(8), as in CI).</summary>
    public static string? UnavailableReason() =>
        !OperatingSystem.IsLinux() || Environment.UserName != "root" ? "needs root on Linux to mount a small tmpfs as a full disk"
        : !File.Exists("/bin/mount") && !File.Exists("/usr/bin/mount") ? "needs mount(8)"
        : null;
}

/// <summary>
/// A replica holder whose disk fills up (real processes; the holder's replica directory becomes a 16 KiB tmpfs): the
/// event log says so with its own kind and the holder, and says again when syncs work after space is freed.
/// </summary>
public sealed class ReplicaHolderFullTests(ITestOutputHelper output)
{
    [MountFact]
    public async Task A_full_holder_disk_is_an_event_and_so_is_the_recovery()
    {
        await using var cluster = await ManualCluster.StartAsync(3);
        string? mounted = null;
        try
        {
            await cluster.WithDiagnosticsAsync(output, async () =>
            {
                using var api = cluster.Api();
                var view = await JournalService.DeployAsync(cluster);
                var instance = view.Instances.Single().Instance;
                var replicas = await JournalService.WaitReplicatedAsync(api, instance.Id, TimeSpan.FromSeconds(60));
                var nodes = await api.Http.GetFromJsonAsync<NodeView[]>("/v1/nodes", VirtualClusterJson.Options);
                var full = replicas[0].Holder;
                var fullId = nodes!.Single(n => n.Node.Name == full).Node.Id;
                // Positive control: syncs work on both holders, so no failure event yet.
                Assert.DoesNotContain(await cluster.EventsAsync(), e => e.Kind is EventKinds.VolumeHolderFull or EventKinds.VolumeSyncFailed);

                mounted = Path.Combine(cluster.Directory, full, "replicas");
                Run("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mounted);
                var failed = await WaitEventAsync(cluster, EventKinds.VolumeHolderFull, 0, TimeSpan.FromSeconds(60));
                output.WriteLine($"{failed.Kind}: {failed.Message}");
                Assert.Contains($"holder {fullId}", failed.Message);
                Assert.Contains("disk is full", failed.Message);
                Assert.Equal(JournalService.Name, failed.Service);

                Run("mount", "-o", "remount,size=64m", mounted);
                // The recovery after the full disk (a first, small sync may have fitted and recovered from an earlier error).
                var recovered = await WaitEventAsync(cluster, EventKinds.VolumeSyncRecovered, failed.Sequence, TimeSpan.FromSeconds(60));
                Assert.Contains($"holder {fullId}", recovered.Message);
                // One event per change, not one per failed sync.
                Assert.Single(await cluster.EventsAsync(), e => e.Kind == EventKinds.VolumeHolderFull);
            });
        }
        finally
        {
            if (mounted is not null) Run("umount", "-l", mounted);
        }
    }

    private static async Task<ClusterEvent> WaitEventAsync(ManualCluster cluster, string kind, long after, TimeSpan timeout)
    {
        ClusterEvent? found = null;
        await Wait.UntilAsync(async () => (found = (await cluster.EventsAsync()).FirstOrDefault(e => e.Kind == kind && e.Sequence > after)) is not null,
            timeout, $"a {kind} event after event {after}");
        return found!;
    }

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {error}");
    }
}
