using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.FailureDetection;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Tests.Cluster;

public sealed class ControlPlaneMetricsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-metrics-").FullName;

    [Fact]
    public async Task Deploy_outcomes_are_counted_on_the_control_plane_meter()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new ControlPlaneMetrics(provider.GetRequiredService<IMeterFactory>());
        var seen = new List<(string Instrument, long Value, string? Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ControlPlaneMetrics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? outcome = null;
            foreach (var tag in tags) if (tag.Key == "outcome") outcome = tag.Value as string;
            lock (seen) seen.Add((instrument.Name, value, outcome));
        });
        listener.Start();

        var time = new FakeTimeProvider();
        var options = Options.Create(new ControlPlaneOptions { DataDirectory = _dir });
        await using var state = await EmbeddedClusterState.OpenAsync(_dir);
        var store = state.Store;
        var cluster = new ClusterService(store, new PipelineScheduler(), new NodeFailureDetector(options.Value.FailureDetector, time), time, options,
            NullLogger<ClusterService>.Instance, metrics);
        await cluster.DeployAsync("""{ "name": "x" }""", default);
        await cluster.DeployAsync("""{ "name": "x", "command": "c" }""", default);

        Assert.Contains(("vcluster.deploys", 1L, "invalid"), seen);
        Assert.Contains(("vcluster.deploys", 1L, "unplaceable"), seen); // no nodes have joined
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
