using VirtualCluster.Replication.Volumes;

namespace VirtualCluster.Replication.Tests;

public sealed class OptionsValidationTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        Assert.True(new ReplicationOptionsValidator().Validate(null, new ReplicationOptions()).Succeeded);
        Assert.True(new VolumeReplicatorOptionsValidator().Validate(null, new VolumeReplicatorOptions()).Succeeded);
    }

    [Fact]
    public void Every_bad_setting_is_named_with_its_range()
    {
        var result = new ReplicationOptionsValidator().Validate(null, new ReplicationOptions { CompressionQuality = 12, CachedBlockDivisor = 0, CachedMinBlockSize = 8, MaxEntries = 0 });
        Assert.False(result.Succeeded);
        foreach (var name in new[] { "CompressionQuality", "CachedBlockDivisor", "CachedMinBlockSize", "MaxEntries" })
            Assert.Contains(result.Failures!, f => f.StartsWith(name, StringComparison.Ordinal) && f.Contains("use", StringComparison.Ordinal));

        var volume = new VolumeReplicatorOptionsValidator().Validate(null, new VolumeReplicatorOptions { Debounce = TimeSpan.FromSeconds(10), SyncInterval = TimeSpan.FromSeconds(2), RetryDelay = TimeSpan.Zero });
        Assert.False(volume.Succeeded);
        Assert.Contains(volume.Failures!, f => f.Contains("Debounce", StringComparison.Ordinal) && f.Contains("SyncInterval", StringComparison.Ordinal));
        Assert.Contains(volume.Failures!, f => f.StartsWith("RetryDelay", StringComparison.Ordinal));
    }
}
