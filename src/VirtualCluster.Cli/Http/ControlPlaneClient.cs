using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Http;

/// <summary>
/// Typed calls to the control plane's /v1 API, on whichever of the listed control planes can serve them
/// (<see cref="ServerFailover"/>). Failures surface as <see cref="ApiException"/> or <see cref="CliException"/>.
/// </summary>
internal sealed class ControlPlaneClient : IDisposable
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Short, so that with several control planes a dead machine (which drops the connection attempt) costs little.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    // Strict reading: a missing or null required field is reported as a malformed answer here,
    // instead of turning into a NullReferenceException while printing.
    private static readonly JsonSerializerOptions ResponseOptions = new(VirtualClusterJson.Options)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    private readonly HttpClient _http;
    private readonly ServerFailover _servers;

    /// <param name="settings">Servers and token.</param>
    /// <param name="handler">Replaces real sockets (tests); null for real ones.</param>
    /// <param name="notes">Where one-line notes go when a control plane fails and the next is tried (stderr).</param>
    /// <param name="limits">How long to keep retrying while control planes answer 503.</param>
    public ControlPlaneClient(ConnectionSettings settings, HttpMessageHandler? handler, TextWriter notes, RetryLimits limits)
    {
        // With real sockets the bytes written tell whether a failed request may have reached the server.
        var sent = handler is null ? new SentBytes() : null;
        var ca = LoadCa(settings.CaCertificateFile); // checked with a test handler too, so a bad file is reported alike
        _http = sent is not null
            ? new HttpClient(sent.CreateHandler(ConnectTimeout, ca), disposeHandler: true)
            : new HttpClient(handler!, disposeHandler: false);
        // Each attempt has its own timeout (ServerFailover), which tells a connect timeout from a slow answer.
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", settings.Token);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("vcluster", typeof(ControlPlaneClient).Assembly.GetName().Version?.ToString(3)));
        _servers = new ServerFailover(settings.Servers, notes, limits, sent);
    }

    private static VirtualCluster.Security.Tls.PinnedCaValidator? LoadCa(string? file)
    {
        if (file is null) return null;
        try
        {
            using var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(file));
            return VirtualCluster.Security.Tls.PinnedCaValidator.ForCertificate(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(ca.RawData));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new CliException(ExitCodes.BadInput, $"cannot use the CA certificate {file} (from --ca-cert, {ConnectionSettings.CaCertVariable} or the config file's caCert): {e.Message}");
        }
    }

    /// <summary>POST /v1/services with the spec file's text as is; the server parses and validates it.</summary>
    /// <returns>The service and whether it was newly created (201) rather than already deployed identically (200).</returns>
    public async Task<(ServiceView Service, bool Created)> DeployAsync(string specJson, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "v1/services", specJson, cancellationToken);
        var service = await ReadAsync<ServiceView>(response, "POST /v1/services", cancellationToken);
        return (service, response.StatusCode == HttpStatusCode.Created);
    }

    public Task<ServiceView> GetServiceAsync(string name, CancellationToken cancellationToken) =>
        GetAsync<ServiceView>($"v1/services/{Uri.EscapeDataString(name)}", cancellationToken);

    public async Task<IReadOnlyList<ServiceView>> ListServicesAsync(CancellationToken cancellationToken) =>
        NoNullItems(await GetAsync<ServiceView[]>("v1/services", cancellationToken), "GET /v1/services");

    public async Task<IReadOnlyList<NodeView>> ListNodesAsync(CancellationToken cancellationToken) =>
        NoNullItems(await GetAsync<NodeView[]>("v1/nodes", cancellationToken), "GET /v1/nodes");

    public Task<ClusterStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        GetAsync<ClusterStatus>("v1/status", cancellationToken);

    public Task<LogsResponse> GetLogsAsync(string name, int tail, CancellationToken cancellationToken) =>
        GetAsync<LogsResponse>($"v1/services/{Uri.EscapeDataString(name)}/logs?tail={tail}", cancellationToken);

    /// <summary>POST /v1/nodes/{name}/drain: starts (or looks at) a drain.</summary>
    public async Task<DrainStatus> DrainAsync(string node, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, $"v1/nodes/{Uri.EscapeDataString(node)}/drain", null, cancellationToken);
        return await ReadAsync<DrainStatus>(response, $"POST /v1/nodes/{node}/drain", cancellationToken);
    }

    public Task<DrainStatus> GetDrainAsync(string node, CancellationToken cancellationToken) =>
        GetAsync<DrainStatus>($"v1/nodes/{Uri.EscapeDataString(node)}/drain", cancellationToken);

    public async Task CancelDrainAsync(string node, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"v1/nodes/{Uri.EscapeDataString(node)}/drain", null, cancellationToken);
    }

    /// <summary>GET /v1/events with the query's filters.</summary>
    public async Task<IReadOnlyList<ClusterEvent>> GetEventsAsync(EventQuery query, CancellationToken cancellationToken)
    {
        var parameters = new List<string>
        {
            $"after={query.AfterSequence.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            $"limit={query.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
        };
        void Add(string name, string? value)
        {
            if (value is not null) parameters.Add($"{name}={Uri.EscapeDataString(value)}");
        }
        Add("service", query.Service);
        Add("node", query.Node);
        Add("kind", query.Kind);
        Add("incident", query.Incident);
        Add("since", query.Since?.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        return NoNullItems(await GetAsync<ClusterEvent[]>("v1/events?" + string.Join('&', parameters), cancellationToken), "GET /v1/events");
    }

    public Task<ServiceExplanation> ExplainAsync(string name, CancellationToken cancellationToken) =>
        GetAsync<ServiceExplanation>($"v1/services/{Uri.EscapeDataString(name)}/explain", cancellationToken);

    /// <summary>POST /v1/rebalance: plans (and unless a dry run, starts) moves that even out node utilization.</summary>
    public async Task<RebalanceResponse> RebalanceAsync(RebalanceRequest body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "v1/rebalance", JsonSerializer.Serialize(body, VirtualClusterJson.Options), cancellationToken);
        return await ReadAsync<RebalanceResponse>(response, "POST /v1/rebalance", cancellationToken);
    }

    /// <summary>POST /v1/tokens: a service token for one service.</summary>
    public async Task<ServiceTokenResponse> CreateServiceTokenAsync(ServiceTokenRequest body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "v1/tokens", JsonSerializer.Serialize(body, VirtualClusterJson.Options), cancellationToken);
        return await ReadAsync<ServiceTokenResponse>(response, "POST /v1/tokens", cancellationToken);
    }

    public async Task DeleteServiceAsync(string name, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"v1/services/{Uri.EscapeDataString(name)}", null, cancellationToken);
    }

    /// <summary>GET /v1/users: the cluster's named users.</summary>
    public async Task<IReadOnlyList<UserView>> ListUsersAsync(CancellationToken cancellationToken) =>
        NoNullItems(await GetAsync<UserView[]>("v1/users", cancellationToken), "GET /v1/users");

    /// <summary>GET /v1/alerts/rules: the threshold alert rules in effect.</summary>
    public async Task<AlertRulesResponse> AlertRulesAsync(CancellationToken cancellationToken) =>
        await GetAsync<AlertRulesResponse>("v1/alerts/rules", cancellationToken);

    /// <summary>PUT /v1/alerts/rules: replaces the user's alert rules with those in <paramref name="json"/> (the server checks them).</summary>
    public async Task<AlertRulesResponse> SetAlertRulesAsync(string json, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Put, "v1/alerts/rules", json, cancellationToken);
        return await ReadAsync<AlertRulesResponse>(response, "PUT /v1/alerts/rules", cancellationToken);
    }

    /// <summary>POST /v1/users: adds a named user with a role.</summary>
    public async Task<UserView> AddUserAsync(AddUserRequest body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "v1/users", JsonSerializer.Serialize(body, VirtualClusterJson.Options), cancellationToken);
        return await ReadAsync<UserView>(response, "POST /v1/users", cancellationToken);
    }

    /// <summary>DELETE /v1/users/{name}: removes a user; its tokens stop working.</summary>
    public async Task RemoveUserAsync(string name, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"v1/users/{Uri.EscapeDataString(name)}", null, cancellationToken);
    }

    /// <summary>POST /v1/users/{name}/tokens: a token for a named user.</summary>
    public async Task<UserTokenResponse> CreateUserTokenAsync(string user, UserTokenRequest body, CancellationToken cancellationToken)
    {
        var path = $"v1/users/{Uri.EscapeDataString(user)}/tokens";
        using var response = await SendAsync(HttpMethod.Post, path, JsonSerializer.Serialize(body, VirtualClusterJson.Options), cancellationToken);
        return await ReadAsync<UserTokenResponse>(response, "POST /" + path, cancellationToken);
    }

    /// <summary>POST /v1/join-tokens: a join token for new machines.</summary>
    public async Task<JoinTokenResponse> CreateJoinTokenAsync(JoinTokenRequest body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "v1/join-tokens", JsonSerializer.Serialize(body, VirtualClusterJson.Options), cancellationToken);
        return await ReadAsync<JoinTokenResponse>(response, "POST /v1/join-tokens", cancellationToken);
    }

    /// <summary>GET /v1/join-tokens: the join tokens the cluster lists (without the tokens themselves).</summary>
    public async Task<IReadOnlyList<JoinTokenView>> ListJoinTokensAsync(CancellationToken cancellationToken) =>
        NoNullItems(await GetAsync<JoinTokenView[]>("v1/join-tokens", cancellationToken), "GET /v1/join-tokens");

    /// <summary>DELETE /v1/join-tokens/{id}: revokes a join token.</summary>
    public async Task<JoinTokenView> RevokeJoinTokenAsync(string id, CancellationToken cancellationToken)
    {
        var path = $"v1/join-tokens/{Uri.EscapeDataString(id)}";
        using var response = await SendAsync(HttpMethod.Delete, path, null, cancellationToken);
        return await ReadAsync<JoinTokenView>(response, "DELETE /" + path, cancellationToken);
    }

    /// <summary>GET /v1/keys: the cluster's token signing keys (public halves) and their states.</summary>
    public async Task<TokenKeysResponse> ListKeysAsync(CancellationToken cancellationToken) =>
        await GetAsync<TokenKeysResponse>("v1/keys", cancellationToken);

    /// <summary>POST /v1/keys/rotate: every control plane makes a new signing key; old tokens stay valid until they expire.</summary>
    public async Task<TokenKeysResponse> RotateKeysAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "v1/keys/rotate", null, cancellationToken);
        return await ReadAsync<TokenKeysResponse>(response, "POST /v1/keys/rotate", cancellationToken);
    }

    /// <summary>GET /v1/alerts: alerts firing now and the ones that resolved lately.</summary>
    /// <summary>GET /v1/metrics/{nodes|services}/{name}/{metric}: one metric's history; range and step as typed (the server checks them).</summary>
    public Task<HistoryResponse> HistoryAsync(string kind, string name, string metric, string range, string? step, CancellationToken cancellationToken) =>
        GetAsync<HistoryResponse>($"v1/metrics/{kind}/{Uri.EscapeDataString(name)}/{Uri.EscapeDataString(metric)}?range={Uri.EscapeDataString(range)}"
            + (step is null ? "" : $"&step={Uri.EscapeDataString(step)}"), cancellationToken);

    public async Task<AlertsResponse> AlertsAsync(CancellationToken cancellationToken) =>
        await GetAsync<AlertsResponse>("v1/alerts", cancellationToken);

    /// <summary>POST /v1/keys/{kid}/retire: refuses the key's tokens from now on, without the grace of a rotation.</summary>
    public async Task<TokenKeysResponse> RetireKeyAsync(string kid, CancellationToken cancellationToken)
    {
        var path = $"v1/keys/{Uri.EscapeDataString(kid)}/retire";
        using var response = await SendAsync(HttpMethod.Post, path, null, cancellationToken);
        return await ReadAsync<TokenKeysResponse>(response, "POST /" + path, cancellationToken);
    }

    /// <summary>DELETE /v1/nodes/{name}: removes a node and revokes its machine credential.</summary>
    public async Task<NodeInfo> RemoveNodeAsync(string name, CancellationToken cancellationToken)
    {
        var path = $"v1/nodes/{Uri.EscapeDataString(name)}";
        using var response = await SendAsync(HttpMethod.Delete, path, null, cancellationToken);
        return await ReadAsync<NodeInfo>(response, "DELETE /" + path, cancellationToken);
    }

    public void Dispose() => _http.Dispose();

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, cancellationToken);
        return await ReadAsync<T>(response, $"GET /{path}", cancellationToken);
    }

    /// <summary>Sends to a control plane that can serve it and turns error statuses into <see cref="ApiException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken)
    {
        var response = await _servers.SendAsync(method, path, async (server, ct) =>
        {
            // A fresh message per attempt: one that was sent cannot be sent again.
            using var request = new HttpRequestMessage(method, new Uri(server.Address, path));
            if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            return await _http.SendAsync(request, ct);
        }, RequestTimeout, cancellationToken);

        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            throw await ToApiExceptionAsync(response, cancellationToken);
        }
    }

    internal static async Task<ApiException> ToApiExceptionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        ApiError? error = null;
        try
        {
            error = JsonSerializer.Deserialize<ApiError>(body, VirtualClusterJson.Options);
        }
        catch (JsonException)
        {
            // Not an ApiError (a proxy's HTML page, an empty body): fall back to the status line below.
        }

        var status = (int)response.StatusCode;
        var message = !string.IsNullOrWhiteSpace(error?.Error)
            ? error.Error
            : $"the control plane answered {status} {response.ReasonPhrase}{Snippet(body)}";
        return new ApiException(response.StatusCode, error, message);
    }

    private async Task<T> ReadAsync<T>(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            return JsonSerializer.Deserialize<T>(body, ResponseOptions)
                ?? throw new JsonException("the body is null");
        }
        catch (JsonException e)
        {
            throw Malformed(what, e.Message + Snippet(body));
        }
    }

    private T[] NoNullItems<T>(T[] items, string what) where T : class =>
        Array.IndexOf(items, null) is var index and >= 0 ? throw Malformed(what, $"item {index} is null") : items;

    private CliException Malformed(string what, string detail) =>
        new(ExitCodes.Failed, $"the control plane at {_servers.Current} sent an unreadable answer to {what}: {detail}");

    /// <summary>The start of a body for error messages, on one line.</summary>
    private static string Snippet(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return "";
        var oneLine = string.Join(' ', body.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)).Trim();
        return oneLine.Length <= 200 ? $" (body: {oneLine})" : $" (body: {oneLine[..200]}...)";
    }
}
