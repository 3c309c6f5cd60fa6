namespace VirtualCluster.Agent.Tests;

/// <summary>Agents sharing one machine report parts that add up to exactly the machine.</summary>
public class MachineShareTests
{
    [Theory]
    [InlineData(2000L, 3)]
    [InlineData(25_769_803_776L, 3)] // 24 GiB
    [InlineData(7L, 16)]
    [InlineData(long.MaxValue / 2, 7)]
    public void The_parts_add_up_to_the_whole_and_differ_by_at_most_one(long total, int of)
    {
        var parts = Enumerable.Range(1, of).Select(k => new MachineShare(k, of).PartOf(total)).ToList();
        Assert.Equal(total, parts.Aggregate(0L, (a, b) => a + b));
        Assert.True(parts.Max() - parts.Min() <= 1);
    }

    [Fact]
    public void Capacity_and_use_are_split_alike()
    {
        var share = new MachineShare(1, 3);
        Assert.Equal(new Resources(666, 1000, 33, 0), share.Apply(new Resources(2000, 3000, 100)));
        Assert.Equal(new ResourceUsage(100, 200, 300), share.Apply(new ResourceUsage(300, 600, 900)));
        var whole = Enumerable.Range(1, 3).Select(k => new MachineShare(k, 3).Apply(new Resources(2000, 3000, 100)))
            .Aggregate(Resources.Zero, (a, b) => a + b);
        Assert.Equal(new Resources(2000, 3000, 100), whole);
    }

    [Theory]
    [InlineData("1/3", true)]
    [InlineData("3/3", true)]
    [InlineData("0/3", false)]
    [InlineData("4/3", false)]
    [InlineData("1/0", false)]
    [InlineData("1/257", false)]
    [InlineData("-1/3", false)]
    [InlineData("1/3/4", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Only_a_part_k_of_n_parses(string? text, bool valid)
    {
        Assert.Equal(valid, MachineShare.TryParse(text, out var share));
        if (valid) Assert.Equal(text, share.ToString());
    }

    [Fact]
    public void The_options_validator_names_a_bad_share()
    {
        var options = new AgentOptions { ServerUrl = "http://127.0.0.1:7070", DataDirectory = "/tmp/x", MachineShare = new MachineShare(4, 3) };
        var result = new AgentOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("MachineShare 4/3", result.FailureMessage);
    }
}
