using System.Text;
using VirtualCluster.Routing.ServiceCalls;
using Xunit;

namespace VirtualCluster.Routing.Tests.ServiceCalls;

/// <summary>The service-call header both ways, and every malformed form of it refused with a reason.</summary>
public sealed class ServiceCallProtocolTests
{
    [Fact]
    public async Task A_request_and_an_answer_round_trip()
    {
        var (a, b) = StreamPair.Create();
        await using (a)
        await using (b)
        {
            await ServiceCallProtocol.WriteRequestAsync(a, "my-db-2");
            Assert.Equal("my-db-2", await ServiceCallProtocol.ReadRequestAsync(b));
            await ServiceCallProtocol.WriteAnswerAsync(b, ServiceCallStatus.NoInstance, "é " + new string('x', 2000));
            var (status, message) = await ServiceCallProtocol.ReadAnswerAsync(a);
            Assert.Equal(ServiceCallStatus.NoInstance, status);
            Assert.True(Encoding.UTF8.GetByteCount(message) <= ServiceCallProtocol.MaxMessageBytes); // cut, not refused
            Assert.StartsWith("é x", message);
        }
    }

    [Theory]
    [InlineData(new byte[] { 2, 1, (byte)'a' }, "version 2")]
    [InlineData(new byte[] { 1, 0 }, "0 bytes")]
    [InlineData(new byte[] { 1, 64 }, "64 bytes")]
    [InlineData(new byte[] { 1, 2, (byte)'A', (byte)'b' }, "characters other than")]
    [InlineData(new byte[] { 1, 5, (byte)'a' }, "ended inside")]
    [InlineData(new byte[] { }, "ended inside")]
    public async Task A_malformed_request_is_refused_with_the_reason(byte[] bytes, string reason)
    {
        var e = await Assert.ThrowsAsync<ServiceCallProtocolException>(() => ServiceCallProtocol.ReadRequestAsync(new MemoryStream(bytes)));
        Assert.Contains(reason, e.Message);
    }

    [Theory]
    [InlineData(new byte[] { 9, 0, 0 }, "status 9")]
    [InlineData(new byte[] { 0, 0xFF, 0xFF }, "longer than")]
    [InlineData(new byte[] { 0, 0, 5, 1 }, "ended inside")]
    public async Task A_malformed_answer_is_refused_with_the_reason(byte[] bytes, string reason)
    {
        var e = await Assert.ThrowsAsync<ServiceCallProtocolException>(() => ServiceCallProtocol.ReadAnswerAsync(new MemoryStream(bytes)));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public async Task A_stream_pair_passes_a_half_close_and_still_carries_the_answer()
    {
        var (a, b) = StreamPair.Create();
        await using (a)
        await using (b)
        {
            await a.WriteAsync("ask"u8.ToArray());
            ((IHalfClosable)a).CompleteWrites();
            using var asked = new MemoryStream();
            await b.CopyToAsync(asked);
            Assert.Equal("ask", Encoding.ASCII.GetString(asked.ToArray()));
            await b.WriteAsync("answer"u8.ToArray());
            await b.DisposeAsync();
            using var answered = new MemoryStream();
            await a.CopyToAsync(answered);
            Assert.Equal("answer", Encoding.ASCII.GetString(answered.ToArray()));
        }
    }
}
