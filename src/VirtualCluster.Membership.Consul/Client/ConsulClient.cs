using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Consul.Client;

/// <summary>A Consul answer with an unexpected status.</summary>
public sealed class ConsulException(HttpStatusCode status, string message) : Exception(message)
{
    /// <summary>HTTP status Consul answered with.</summary>
    public HttpStatusCode Status { get; } = status;
}

/// <summary>
/// A small typed client of Consul's HTTP API: KV (with blocking queries, cas, acquire/release), transactions and
/// sessions here; the agent and health endpoints in the other part. Network failures and 5xx answers surface as
/// <see cref="KeyValueStoreUnavailableException"/>; answers Consul gives on purpose (404, 409, "invalid session")
/// as results or <see cref="ConsulException"/>.
/// </summary>
public sealed partial class ConsulClient
{
    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = null, PropertyNameCaseInsensitive = true };
    private readonly HttpClient _http;
    private readonly ConsulMembershipOptions _options;

    /// <summary>A client on <paramref name="http"/>, whose base address and timeout it sets from <paramref name="options"/>.</summary>
    public ConsulClient(HttpClient http, ConsulMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
        var address = options.Address.EndsWith('/') ? options.Address : options.Address + "/";
        _http.BaseAddress = new Uri(address);
        // Blocking queries hold the request open for up to the wait (plus Consul's jitter of wait/16).
        _http.Timeout = options.BlockingWait + options.BlockingWait / 8 + options.RequestTimeout;
        if (!string.IsNullOrEmpty(options.Token)) _http.DefaultRequestHeaders.Add("X-Consul-Token", options.Token);
    }

    /// <summary>Consul's duration syntax: whole seconds as "10s", otherwise milliseconds as "1500ms".</summary>
    public static string Duration(TimeSpan value) =>
        value.Ticks % TimeSpan.TicksPerSecond == 0
            ? ((long)value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s"
            : ((long)Math.Ceiling(value.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "ms";

    private static string Path(string key) => string.Join('/', key.Split('/').Select(Uri.EscapeDataString));

    private static string Blocking(long? index, TimeSpan wait) =>
        index is > 0 ? $"index={index.Value.ToString(CultureInfo.InvariantCulture)}&wait={Duration(wait)}" : "";

    /// <summary>GET /v1/kv/{key}: the entry, or null (404). With <paramref name="index"/>, a blocking query.</summary>
    public async Task<ConsulResult<ConsulKvPair?>> KvGetAsync(string key, long? index = null, CancellationToken cancellationToken = default)
    {
        var query = Blocking(index, _options.BlockingWait);
        var (pairs, resultIndex) = await GetListAsync<ConsulKvPair>($"v1/kv/{Path(key)}{(query.Length > 0 ? "?" + query : "")}", index is > 0, cancellationToken).ConfigureAwait(false);
        return new ConsulResult<ConsulKvPair?>(pairs.FirstOrDefault(p => p.Key == key), resultIndex);
    }

    /// <summary>GET /v1/kv/{prefix}?recurse: every entry under the prefix (empty on 404). With <paramref name="index"/>, a blocking query.</summary>
    public async Task<ConsulResult<List<ConsulKvPair>>> KvListAsync(string prefix, long? index = null, CancellationToken cancellationToken = default)
    {
        var query = Blocking(index, _options.BlockingWait);
        var (pairs, resultIndex) = await GetListAsync<ConsulKvPair>($"v1/kv/{Path(prefix)}?recurse=true{(query.Length > 0 ? "&" + query : "")}", index is > 0, cancellationToken)
            .ConfigureAwait(false);
        return new ConsulResult<List<ConsulKvPair>>(pairs, resultIndex);
    }

    /// <summary>GET /v1/kv/{prefix}?keys: the keys under the prefix (empty on 404).</summary>
    public async Task<List<string>> KvKeysAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var (keys, _) = await GetListAsync<string>($"v1/kv/{Path(prefix)}?keys=true", false, cancellationToken).ConfigureAwait(false);
        return keys;
    }

    /// <summary>PUT /v1/kv/{key}?acquire={session}: true when the lock was taken (or is already held by the session).</summary>
    /// <exception cref="KvLeaseNotFoundException">The session does not exist.</exception>
    public Task<bool> KvAcquireAsync(string key, string value, string session, CancellationToken cancellationToken = default) =>
        PutBoolAsync($"v1/kv/{Path(key)}?acquire={Uri.EscapeDataString(session)}", value, session, cancellationToken);

    /// <summary>PUT /v1/kv/{key}?release={session}: true when the session held the lock and released it.</summary>
    public Task<bool> KvReleaseAsync(string key, string session, CancellationToken cancellationToken = default) =>
        PutBoolAsync($"v1/kv/{Path(key)}?release={Uri.EscapeDataString(session)}", "", session, cancellationToken);

    /// <summary>PUT /v1/txn with KV operations. Applied (200) or rolled back (409) with the reasons.</summary>
    public async Task<ConsulTxnResponse> TxnAsync(IReadOnlyList<ConsulTxnOp> operations, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, "v1/txn") { Content = JsonContent.Create(operations, options: Json) },
            cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Conflict)) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadFromJsonAsync<ConsulTxnResponse>(Json, cancellationToken).ConfigureAwait(false)
            ?? new ConsulTxnResponse(null, null);
        return body with { Applied = response.StatusCode == HttpStatusCode.OK };
    }

    /// <summary>PUT /v1/session/create with a TTL, returning the session id.</summary>
    public async Task<string> SessionCreateAsync(ConsulSessionCreate session, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, "v1/session/create") { Content = JsonContent.Create(session, options: Json) },
            cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        return document.RootElement.GetProperty("ID").GetString() ?? throw new ConsulException(response.StatusCode, "Consul created a session without an ID.");
    }

    /// <summary>PUT /v1/session/renew/{id}: false when the session no longer exists (404).</summary>
    public async Task<bool> SessionRenewAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, $"v1/session/renew/{Uri.EscapeDataString(id)}"), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var sessions = await response.Content.ReadFromJsonAsync<List<ConsulSession>>(Json, cancellationToken).ConfigureAwait(false);
        return sessions is { Count: > 0 };
    }

    /// <summary>PUT /v1/session/destroy/{id} (idempotent).</summary>
    public async Task SessionDestroyAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, $"v1/session/destroy/{Uri.EscapeDataString(id)}"), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET /v1/session/info/{id}: the session, or null when it does not exist.</summary>
    public async Task<ConsulSession?> SessionInfoAsync(string id, CancellationToken cancellationToken = default)
    {
        var (sessions, _) = await GetListAsync<ConsulSession>($"v1/session/info/{Uri.EscapeDataString(id)}", false, cancellationToken).ConfigureAwait(false);
        return sessions.FirstOrDefault();
    }

    private async Task<bool> PutBoolAsync(string uri, string value, string session, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, uri) { Content = new StringContent(value, Encoding.UTF8) },
            cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode && text.Contains("invalid session", StringComparison.OrdinalIgnoreCase))
            throw new KvLeaseNotFoundException(session);
        if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
        return text.Trim() == "true";
    }

    private async Task<(List<T> Items, long Index)> GetListAsync<T>(string uri, bool blocking, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), cancellationToken, blocking).ConfigureAwait(false);
        var index = response.Headers.TryGetValues("X-Consul-Index", out var values)
            && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        if (response.StatusCode == HttpStatusCode.NotFound) return ([], index);
        if (!response.IsSuccessStatusCode) throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var items = await response.Content.ReadFromJsonAsync<List<T>>(Json, cancellationToken).ConfigureAwait(false);
        return (items ?? [], index);
    }

    /// <summary>Sends a request; network failures and time-outs become <see cref="KeyValueStoreUnavailableException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> request, CancellationToken cancellationToken, bool blocking = false)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(blocking ? _http.Timeout : _options.RequestTimeout);
        try
        {
            using var message = request();
            return await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KeyValueStoreUnavailableException($"Consul at {_options.Address} did not answer in time.");
        }
        catch (HttpRequestException e)
        {
            throw new KeyValueStoreUnavailableException($"Consul at {_options.Address} cannot be reached: {e.Message}", e);
        }
    }

    private static async Task<Exception> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var message = $"Consul answered {(int)response.StatusCode} {response.StatusCode}: {(text.Length > 300 ? text[..300] : text)}";
        return (int)response.StatusCode >= 500 && !text.Contains("invalid session", StringComparison.OrdinalIgnoreCase)
            ? new KeyValueStoreUnavailableException(message)
            : new ConsulException(response.StatusCode, message);
    }
}
