using System.Net.Http.Headers;
using System.Net.Http.Json;
using VirtualCluster.Api;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>Direct calls to the control plane's API, to check what the CLI did.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    /// <param name="handler">How to connect (e.g. from inside a network namespace); the client disposes it.</param>
    public ApiClient(string url, string? token, HttpMessageHandler? handler = null)
    {
        // Tests poll with their own deadlines; a 5 s cap made a cold control plane's first deploy on a machine at
        // load 60 (2 cores) fail a test about adoption. 30 s still ends a request to a frozen process.
        _http = new HttpClient(handler ?? TestTls.Handler(url)) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public HttpClient Http => _http;

    public async Task<ClusterStatus> StatusAsync() =>
        (await _http.GetFromJsonAsync<ClusterStatus>("/v1/status", VirtualClusterJson.Options))!;

    public async Task<ServiceView?> ServiceAsync(string name)
    {
        using var response = await _http.GetAsync($"/v1/services/{name}");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<ServiceView>(VirtualClusterJson.Options);
    }

    public async Task<bool> HealthyAsync()
    {
        try
        {
            using var response = await _http.GetAsync("/v1/health");
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits until every instance of a service is Running and returns the view.</summary>
    public async Task<ServiceView> WaitRunningAsync(string name, TimeSpan timeout)
    {
        ServiceView? view = null;
        await Wait.UntilAsync(async () =>
        {
            view = await ServiceAsync(name);
            return view is not null && view.Running == view.Desired && view.Instances.Count == view.Desired;
        }, timeout, $"all instances of {name} running");
        return view!;
    }

    public void Dispose() => _http.Dispose();
}
