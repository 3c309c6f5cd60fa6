using System.Net;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>The ASP.NET Core web host serves the same control-plane API, configured through configuration.</summary>
public sealed class WebHostTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-web-").FullName;

    [Fact]
    public async Task Web_host_serves_the_api_with_tokens_from_its_configured_data_directory()
    {
        var url = $"http://127.0.0.1:{Wait.FreePort()}";
        using var host = TestProcess.StartDotnet(RepoPaths.WebHostDll, [], new Dictionary<string, string>
        {
            ["Urls"] = url,
            ["VirtualCluster__DataDirectory"] = _dir,
        });
        using var anonymous = new ApiClient(url, null);
        await Wait.UntilAsync(anonymous.HealthyAsync, TimeSpan.FromSeconds(60), "web host health");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.Http.GetAsync("/v1/status")).StatusCode);

        var token = (await File.ReadAllTextAsync(Path.Combine(_dir, "admin.token"))).Trim();
        using var admin = new ApiClient(url, token);
        var status = await admin.StatusAsync();
        Assert.Empty(status.Nodes);
        Assert.Empty(status.Services);
    }

    [Fact]
    public async Task Web_host_refuses_to_start_without_a_data_directory()
    {
        using var host = TestProcess.StartDotnet(RepoPaths.WebHostDll, [], new Dictionary<string, string>
        {
            ["Urls"] = $"http://127.0.0.1:{Wait.FreePort()}",
            ["VirtualCluster__DataDirectory"] = "",
        });
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, code);
        Assert.Contains("DataDirectory is empty", host.Output);
    }

    [Theory]
    [InlineData("maybe")]
    [InlineData("0n")]
    public async Task Web_host_refuses_a_p2p_value_that_is_neither_on_nor_off(string value)
    {
        using var host = TestProcess.StartDotnet(RepoPaths.WebHostDll, ["--p2p", value], new Dictionary<string, string>
        {
            ["Urls"] = $"http://127.0.0.1:{Wait.FreePort()}",
            ["VirtualCluster__DataDirectory"] = _dir,
        });
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, code);
        Assert.Contains($"--p2p must be on or off (got \"{value}\")", host.Output);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
