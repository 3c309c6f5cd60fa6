using System.Globalization;
using System.Text;
using VirtualCluster.Api;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// The stateful sample for replication tests: HelloService with APPEND_RECORDS_TO, appending numbered records
/// ("record NNNNNNNN check CCCCCCCC\n", C derived from N; one write and one fsync each) to records.log in its volume
/// "data", replicated to two holders with sync "500ms".
/// </summary>
internal static partial class JournalService
{
    public const string Name = "journal";
    private const int Length = 31;

    public static async Task<ServiceView> DeployAsync(ManualCluster cluster)
    {
        var spec = $$"""
            { "name": "{{Name}}", "command": "dotnet", "args": ["{{RepoPaths.HelloDll}}"],
              "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http" }],
              "env": { "APPEND_RECORDS_TO": "records.log" },
              "volumes": [{ "name": "data", "mountPath": "/data", "replicas": 2, "sync": "500ms" }],
              "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s" } }
            """;
        using var api = cluster.Api();
        using (var response = await api.Http.PostAsync("/v1/services", new StringContent(spec, Encoding.UTF8, "application/json")))
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await api.WaitRunningAsync(Name, TimeSpan.FromSeconds(90));
    }

    /// <summary>Waits until the instance's replicas on both holders have a completed sync; returns them.</summary>
    public static async Task<IReadOnlyList<ReplicaView>> WaitReplicatedAsync(ApiClient api, string instanceId, TimeSpan timeout)
    {
        IReadOnlyList<ReplicaView> replicas = [];
        await Wait.UntilAsync(async () =>
        {
            replicas = (await api.ServiceAsync(Name))!.Instances.SingleOrDefault(i => i.Instance.Id == instanceId)?.Replicas ?? [];
            return replicas.Count == 2 && replicas.All(r => r.Sequence > 0);
        }, timeout, $"two holders of {instanceId} with a completed sync");
        return replicas;
    }

    /// <summary>How many records an instance found in its volume when it started (its first log line, "records: holds N record(s)").</summary>
    public static async Task<long> StartedFromAsync(ApiClient api, string instanceId)
    {
        long started = -1;
        await Wait.UntilAsync(async () =>
        {
            var logs = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<LogsResponse>(api.Http, $"/v1/services/{Name}/logs?tail=200", VirtualClusterJson.Options);
            var line = logs?.Lines.FirstOrDefault(l => l.InstanceId == instanceId && l.Line.Text.Contains("records:", StringComparison.Ordinal));
            if (line is null) return false;
            started = long.Parse(HoldsPattern().Match(line.Line.Text).Groups[1].Value, CultureInfo.InvariantCulture);
            return true;
        }, TimeSpan.FromSeconds(30), $"{instanceId}'s first log line");
        return started;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"holds (\d+) record")]
    private static partial System.Text.RegularExpressions.Regex HoldsPattern();

    /// <summary>The records file of an instance in its volume on <paramref name="node"/>.</summary>
    public static string RecordsPath(ManualCluster cluster, string node, string instanceId) =>
        Path.Combine(cluster.Directory, node, "instances", instanceId, "volumes", "data", "records.log");

    /// <summary>The records file in the replica of volume set <paramref name="volumeSet"/> that <paramref name="holder"/> keeps.</summary>
    public static string ReplicaPath(ManualCluster cluster, string holder, string volumeSet) =>
        Path.Combine(cluster.Directory, holder, "replicas", volumeSet + ".data", "records.log");

    /// <summary>How many whole, valid records the file starts with, and whether nothing else follows them.</summary>
    public static (long Count, bool Clean) Read(string path)
    {
        if (!File.Exists(path)) return (0, true);
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (FileNotFoundException)
        {
            return (0, true); // renamed over between the check and the open: the caller polls again
        }
        long count = 0;
        for (var offset = 0; offset + Length <= bytes.Length; offset += Length)
        {
            var n = count + 1;
            var expected = string.Create(CultureInfo.InvariantCulture, $"record {n:D8} check {n * 2654435761L % 100_000_000L:D8}\n");
            if (Encoding.ASCII.GetString(bytes, offset, Length) != expected) return (count, false);
            count++;
        }
        return (count, bytes.Length == count * Length);
    }
}
