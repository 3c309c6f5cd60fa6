using System.Security.Cryptography;
using VirtualCluster.P2P.DataChannels;
using Xunit;

namespace VirtualCluster.P2P.Tests.Sctp;

/// <summary>
/// DataChannelStream's inlineReads: a read that had to wait continues on the thread that delivered the message (the
/// transport's receive thread; here the memory link's delivery thread) instead of a thread-pool worker, and the bytes
/// arrive intact either way. The default (false) is the positive control: there the continuation runs on the pool.
/// </summary>
public sealed class DataChannelStreamInlineTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_waiting_read_continues_on_the_receive_thread_only_with_inline_reads(bool inline)
    {
        await using var pair = await SctpPair.ConnectAsync(seed: 11);
        var (a, b) = await pair.OpenAsync("inline");
        await using var reader = new DataChannelStream(b, inlineReads: inline);
        var buffer = new byte[64 * 1024];

        async Task<(int Length, bool OnPool)> ReadOnce()
        {
            var n = await reader.ReadAsync(buffer).ConfigureAwait(false);
            return (n, Thread.CurrentThread.IsThreadPoolThread);
        }

        for (var i = 0; i < 5; i++)
        {
            // Nothing is in flight, so the read must wait; its continuation is registered before the message is sent.
            var read = ReadOnce();
            Assert.False(read.IsCompleted, "a read completed with nothing sent");
            var message = RandomNumberGenerator.GetBytes(1000 + i);
            a.Send(message);
            var (length, onPool) = await read.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(message, buffer[..length]);
            Assert.Equal(!inline, onPool);
        }
    }

    [Fact]
    public async Task Bytes_arrive_intact_with_inline_reads()
    {
        await using var pair = await SctpPair.ConnectAsync(seed: 12);
        var (a, b) = await pair.OpenAsync("bulk");
        var data = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        await using var writer = new DataChannelStream(a);
        await using var reader = new DataChannelStream(b, inlineReads: true);
        var read = Task.Run(async () =>
        {
            var got = new byte[data.Length];
            var total = 0;
            while (total < got.Length)
            {
                var n = await reader.ReadAsync(got.AsMemory(total)).ConfigureAwait(false);
                if (n == 0) break;
                total += n;
            }
            return got[..total];
        });
        await writer.WriteAsync(data).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(data, await read.WaitAsync(TimeSpan.FromSeconds(60)));
    }
}
