namespace VirtualCluster.Agent.Replication;

/// <summary>Names of replicas on their holders.</summary>
internal static class VolumeIds
{
    /// <summary>The replica id of volume <paramref name="volume"/> of volume set <paramref name="volumeSet"/>: <c>&lt;set&gt;.&lt;volume&gt;</c>.</summary>
    public static string For(string volumeSet, string volume) => Api.ReplicaIds.For(volumeSet, volume);
}
