using System.Net.Http.Json;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>The control plane's `--key-rotation-days`: taken and reported by `GET /v1/keys`, and refused with the fix when out of range.</summary>
public sealed class KeyFlagTests
{
    [Fact]
    public async Task The_rotation_interval_flag_is_used_by_the_control_plane()
    {
        await using var cluster = await ManualCluster.StartAsync(agents: 0, controlPlaneArgs: ["--key-rotation-days", "2.5"]);
        using var api = cluster.Api();

        var keys = await api.Http.GetFromJsonAsync<TokenKeysResponse>("v1/keys", VirtualClusterJson.Options);

        Assert.Equal(TimeSpan.FromDays(2.5), keys!.RotateEvery);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("400")]
    [InlineData("soon")]
    public async Task A_rotation_interval_out_of_range_ends_the_control_plane_with_the_fix(string days)
    {
        var dir = Directory.CreateTempSubdirectory("vc-key-flags-").FullName;
        try
        {
            using var cp = TestProcess.StartDotnet(RepoPaths.HostDll,
                ["control-plane", "--data-dir", Path.Combine(dir, "cp"), "--listen", $"https://127.0.0.1:{Wait.FreePort()}", "--key-rotation-days", days]);

            Assert.Equal(2, await cp.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("--key-rotation-days", cp.Output);
            Assert.DoesNotContain("Unhandled exception", cp.Output);
            Assert.False(File.Exists(Path.Combine(dir, "cp", "admin.token")), "nothing started");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
