using System.Net;
using VirtualCluster.ControlPlane.Tests.Security;

namespace VirtualCluster.ControlPlane.Tests.Api;

/// <summary>
/// <c>GET /v1/live</c> holds at most 64 streams per control plane: the 65th is refused with 429, and each place comes
/// back when its stream ends (however it ends), so a client that closes its streams can open them again.
/// </summary>
public sealed class LiveStreamBoundTests
{
    [Fact]
    public async Task The_65th_stream_is_refused_and_places_come_back_when_streams_end()
    {
        await using var host = await ApiSecurityHost.StartAsync();
        using var client = host.Client(host.AdminToken);
        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 64; i++)
            {
                var response = await client.GetAsync("v1/live", HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                open.Add(response);
            }
            using (var refused = await client.GetAsync("v1/live", HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.Contains("64 live streams", await refused.Content.ReadAsStringAsync());
            }

            // Half of them end from the client's side: their places come back (polled: the server sees each end shortly after).
            foreach (var response in open.Take(32)) response.Dispose();
            open.RemoveRange(0, 32);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            HttpResponseMessage? again = null;
            while (DateTime.UtcNow < deadline)
            {
                again = await client.GetAsync("v1/live", HttpCompletionOption.ResponseHeadersRead);
                if (again.StatusCode == HttpStatusCode.OK) break;
                again.Dispose();
                again = null;
                await Task.Delay(100);
            }
            Assert.NotNull(again);
            open.Add(again!);
        }
        finally
        {
            foreach (var response in open) response.Dispose();
        }
    }
}
