using Microsoft.Extensions.Options;
using Xunit;

namespace VirtualCluster.Gateway.Tests;

/// <summary>The Kestrel memory pool the gateway registers: block size from the options, reuse, and its bounds.</summary>
public sealed class GatewayMemoryPoolTests
{
    [Fact]
    public void Blocks_have_the_configured_size_and_are_reused_once_returned()
    {
        var factory = new GatewayMemoryPoolFactory(Options.Create(new GatewayOptions { IoBlockSize = 16 * 1024 }));
        using var pool = factory.Create();
        Assert.Equal(16 * 1024, pool.MaxBufferSize);
        var first = pool.Rent(100);
        Assert.Equal(16 * 1024, first.Memory.Length);
        var array = first.Memory;
        first.Dispose();
        first.Dispose(); // a second dispose must not hand the block out twice
        var again = pool.Rent();
        var other = pool.Rent();
        Assert.True(again.Memory.Span == array.Span, "a returned block should be reused");
        Assert.False(other.Memory.Span == array.Span, "a block returned twice was handed out twice");
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(16 * 1024 + 1));
    }

    [Fact]
    public void A_pool_keeps_at_most_MaxRetained_free_blocks()
    {
        using var pool = new GatewayMemoryPool(4096, maxRetained: 2);
        var blocks = Enumerable.Range(0, 3).Select(_ => pool.Rent()).ToList();
        var memories = blocks.Select(b => b.Memory).ToList();
        blocks.ForEach(b => b.Dispose());
        var reused = Enumerable.Range(0, 3).Select(_ => pool.Rent().Memory).ToList();
        Assert.Equal(2, reused.Count(r => memories.Any(m => m.Span == r.Span)));
    }

    [Theory]
    [InlineData(4095)]
    [InlineData(2 * 1024 * 1024)]
    public void The_validator_names_a_block_size_out_of_range(int size)
    {
        var result = new GatewayOptionsValidator().Validate(null, new GatewayOptions { IoBlockSize = size });
        Assert.True(result.Failed);
        Assert.Contains("IoBlockSize", result.FailureMessage);
    }
}
