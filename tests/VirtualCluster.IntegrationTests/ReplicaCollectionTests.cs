using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Replicas of a removed service do not stay on their holders forever (real processes): while the service runs its
/// holders judge their replicas wanted and keep them well past the retention; once it is removed they delete them
/// after the retention (`--replica-retention`).
/// </summary>
public sealed class ReplicaCollectionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Retention = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Holders_keep_wanted_replicas_and_delete_those_of_a_removed_service_after_the_retention()
    {
        await using var cluster = await ManualCluster.StartAsync(3, _ => ["--replica-retention", "2s"]);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            using var api = cluster.Api();
            var view = await JournalService.DeployAsync(cluster);
            var instance = view.Instances.Single().Instance;
            var replicas = await JournalService.WaitReplicatedAsync(api, instance.Id, TimeSpan.FromSeconds(60));
            var holders = replicas.Select(r => r.Holder).Distinct().ToList();
            Assert.Equal(2, holders.Count);
            var directories = holders.Select(h => Path.GetDirectoryName(JournalService.ReplicaPath(cluster, h, instance.VolumeSet!))!).ToList();
            Assert.All(directories, d => Assert.True(Directory.Exists(d), $"{d} holds the replica"));

            // Wanted replicas are kept: each holder has judged its replica wanted, and it keeps receiving syncs for
            // three retention periods after that, still there.
            foreach (var holder in holders)
                await cluster.Agents[holder].WaitForOutputAsync("Replicas held: 1 wanted, 0 no longer wanted", TimeSpan.FromSeconds(30));
            var judged = DateTimeOffset.UtcNow;
            await Wait.UntilAsync(async () => (await api.ServiceAsync(JournalService.Name))!.Instances.Single().Replicas!
                .All(r => r.LastSyncAt > judged + 3 * Retention), TimeSpan.FromSeconds(60), "syncs three retention periods after the holders judged");
            Assert.All(directories, d => Assert.True(Directory.Exists(d), $"{d} was deleted while its service still runs"));
            foreach (var holder in holders) Assert.DoesNotContain("Deleted replica", cluster.Agents[holder].Output);

            // Removed: every holder deletes its replica (directory and epoch) once it has been unwanted for the retention.
            using (var removed = await api.Http.DeleteAsync($"/v1/services/{JournalService.Name}"))
                Assert.True(removed.IsSuccessStatusCode, await removed.Content.ReadAsStringAsync());
            var id = ReplicaIds.For(instance.VolumeSet!, "data");
            foreach (var holder in holders) await cluster.Agents[holder].WaitForOutputAsync($"Deleted replica {id}", TimeSpan.FromSeconds(60));
            Assert.All(directories, d => Assert.False(Directory.Exists(d) || File.Exists(d + ".epoch"), $"{d} or its epoch left behind"));
        });
    }
}
