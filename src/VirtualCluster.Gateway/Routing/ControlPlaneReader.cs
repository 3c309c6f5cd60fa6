using System.Net.Http.Headers;
using System.Net.Http.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Gateway;

/// <summary>Reads the control plane's API, moving on to the next URL when one does not answer.</summary>
internal sealed class ControlPlaneReader(HttpClient http, IReadOnlyList<Uri> servers)
{
    private int _current;

    public static IReadOnlyList<Uri> Parse(string urls) =>
        urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => new Uri(u.EndsWith('/') ? u : u + "/")).ToList();

    /// <summary>GETs <paramref name="path"/> with <paramref name="token"/>; null on 401/403/404 (the caller decides what that means).</summary>
    /// <exception cref="HttpRequestException">No control plane answered.</exception>
    public Task<(T? Value, int Status)> GetAsync<T>(string path, string? token, CancellationToken ct) where T : class =>
        SendAsync<T>(HttpMethod.Get, path, null, token, ct);

    /// <summary>POSTs <paramref name="body"/> as JSON to <paramref name="path"/>; answers as <see cref="GetAsync"/>.</summary>
    /// <exception cref="HttpRequestException">No control plane answered.</exception>
    public Task<(T? Value, int Status)> PostAsync<T>(string path, object body, string? token, CancellationToken ct) where T : class =>
        SendAsync<T>(HttpMethod.Post, path, body, token, ct);

    /// <summary>Sends <paramref name="body"/> (if any) as JSON with <paramref name="method"/>; answers as <see cref="GetAsync"/> (204 gives no value).</summary>
    /// <exception cref="HttpRequestException">No control plane answered.</exception>
    public async Task<(T? Value, int Status)> SendAsync<T>(HttpMethod method, string path, object? body, string? token, CancellationToken ct) where T : class
    {
        HttpRequestException? last = null;
        for (var i = 0; i < servers.Count; i++)
        {
            var index = (Volatile.Read(ref _current) + i) % servers.Count;
            using var request = new HttpRequestMessage(method, new Uri(servers[index], path));
            if (body is not null) request.Content = JsonContent.Create(body, body.GetType(), options: VirtualClusterJson.Options);
            if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            try
            {
                using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
                // A follower without a leader answers 503: try the next control plane.
                if ((int)response.StatusCode >= 500) { last = new HttpRequestException($"{servers[index]} answered {(int)response.StatusCode}"); continue; }
                Volatile.Write(ref _current, index);
                if (!response.IsSuccessStatusCode || response.StatusCode == System.Net.HttpStatusCode.NoContent) return (null, (int)response.StatusCode);
                return (await response.Content.ReadFromJsonAsync<T>(VirtualClusterJson.Options, ct).ConfigureAwait(false), 200);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                last = e switch
                {
                    HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } tls => new HttpRequestException(HttpRequestError.SecureConnectionError,
                        $"{servers[index]}: {tls.InnerException?.Message ?? tls.Message} (a control plane with the cluster's own CA needs --ca-fingerprint, its ca.fingerprint file)", tls),
                    HttpRequestException other => other,
                    _ => new HttpRequestException($"{servers[index]} did not answer in time", e),
                };
            }
        }
        throw last ?? new HttpRequestException("no control plane is configured");
    }
}
