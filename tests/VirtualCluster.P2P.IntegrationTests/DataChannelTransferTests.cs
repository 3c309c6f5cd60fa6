using System.Security.Cryptography;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Sctp;
using VirtualCluster.P2P.Transport;
using Xunit;

namespace VirtualCluster.P2P.IntegrationTests;

/// <summary>The SCTP + DCEP stack end to end without DTLS: 100 MB through a link that drops 5 % of packets.</summary>
public sealed class DataChannelTransferTests
{
    [Fact]
    public async Task A_100_MB_transfer_arrives_intact_through_5_percent_loss()
    {
        using var link = new MemoryLink(1200, seed: 11) { LossRate = 0.05, ReorderRate = 0.01 };
        await using var a = new SctpAssociation(link.A, isDtlsClient: true);
        await using var b = new SctpAssociation(link.B, isDtlsClient: false);
        var accepted = new TaskCompletionSource<DataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.DataChannelOpened += c => accepted.TrySetResult(c);
        await Task.WhenAll(a.ConnectAsync(), b.ConnectAsync()).WaitAsync(TimeSpan.FromSeconds(30));
        var channel = a.CreateDataChannel("bulk");
        var remote = await accepted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await using var writer = new DataChannelStream(channel);
        await using var reader = new DataChannelStream(remote);

        const int Size = 100 * 1024 * 1024;
        var expected = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var readTask = Task.Run(async () =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[256 * 1024];
            long total = 0;
            while (total < Size)
            {
                var n = await reader.ReadAsync(buffer);
                if (n == 0) break;
                sha.AppendData(buffer, 0, n);
                total += n;
            }
            return (total, sha.GetHashAndReset());
        });
        var block = new byte[1024 * 1024];
        var random = new Random(5);
        for (var i = 0; i < Size / block.Length; i++)
        {
            random.NextBytes(block);
            expected.AppendData(block);
            await writer.WriteAsync(block).AsTask().WaitAsync(TimeSpan.FromMinutes(5));
        }
        var (received, hash) = await readTask.WaitAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(Size, received);
        Assert.Equal(expected.GetHashAndReset(), hash);
        Assert.True(a.RetransmittedChunks > 1000, $"only {a.RetransmittedChunks} retransmissions: loss was not exercised");
    }
}
