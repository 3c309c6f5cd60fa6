using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace VirtualCluster.Acme;

/// <summary>
/// An ACME client (RFC 8555): account, order, authorizations answered through an <see cref="IAcmeChallengeHandler"/>,
/// finalize with a CSR for a fresh P-256 key, download the chain. Every request is a JWS POST carrying a fresh nonce;
/// a badNonce refusal (which CAs send at random to keep clients honest) is retried with the nonce it carried.
/// </summary>
public sealed class AcmeClient
{
    private const string BadNonce = "urn:ietf:params:acme:error:badNonce";
    private readonly HttpClient _http;
    private readonly Uri _directoryUrl;
    private readonly AcmeAccountKey _key;
    private readonly TimeProvider _time;
    private JsonObject? _directory;
    private string? _nonce;

    /// <summary>A client of the CA whose directory is <paramref name="directory"/> (e.g. https://acme-v02.api.letsencrypt.org/directory).</summary>
    public AcmeClient(HttpClient http, Uri directory, AcmeAccountKey key, TimeProvider? time = null)
    {
        _http = http;
        _directoryUrl = directory;
        _key = key;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The account's URL (its kid) once <see cref="RegisterAsync"/> has run.</summary>
    public string? AccountUrl { get; private set; }

    /// <summary>Longest wait for the CA to decide an authorization or to issue. Default 2 min.</summary>
    public TimeSpan PollTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Creates the account for this key, or finds the existing one (new-account is idempotent per key), agreeing to the CA's terms.</summary>
    public async Task<string> RegisterAsync(string? contactEmail = null, CancellationToken cancellationToken = default)
    {
        var payload = new JsonObject { ["termsOfServiceAgreed"] = true };
        if (!string.IsNullOrEmpty(contactEmail)) payload["contact"] = new JsonArray($"mailto:{contactEmail}");
        var (_, location, _) = await PostAsync(await UrlAsync("newAccount", cancellationToken), payload, useJwk: true, cancellationToken);
        AccountUrl = location ?? throw new AcmeException("missingLocation", "new-account answered without a Location (the account URL)", 0);
        return AccountUrl;
    }

    /// <summary>Orders a certificate for <paramref name="names"/> (the first is the subject), proving each through <paramref name="handler"/>.</summary>
    public async Task<AcmeCertificate> OrderAsync(IReadOnlyList<string> names, IAcmeChallengeHandler handler, CancellationToken cancellationToken = default)
    {
        if (names.Count == 0) throw new ArgumentException("at least one name", nameof(names));
        if (AccountUrl is null) await RegisterAsync(null, cancellationToken);
        var identifiers = new JsonArray(names.Select(n => (JsonNode)new JsonObject { ["type"] = "dns", ["value"] = n }).ToArray());
        var (order, orderUrl, _) = await PostAsync(await UrlAsync("newOrder", cancellationToken), new JsonObject { ["identifiers"] = identifiers }, false, cancellationToken);
        if (orderUrl is null) throw new AcmeException("missingLocation", "new-order answered without a Location (the order URL)", 0);
        foreach (var authorization in order["authorizations"]?.AsArray() ?? [])
            await AuthorizeAsync(authorization!.GetValue<string>(), handler, cancellationToken);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={names[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names) san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        var csr = AcmeAccountKey.Base64Url(request.CreateSigningRequest());
        order = await PollAsync(orderUrl, "order", s => s is "ready" or "valid" or "invalid", cancellationToken);
        if (order["status"]?.GetValue<string>() == "ready")
        {
            (order, _, _) = await PostAsync(order["finalize"]!.GetValue<string>(), new JsonObject { ["csr"] = csr }, false, cancellationToken);
            order = await PollAsync(orderUrl, "order", s => s is "valid" or "invalid", cancellationToken);
        }
        if (order["status"]?.GetValue<string>() != "valid")
            throw new AcmeException("orderFailed", $"the order ended {order["status"]}: {order["error"]?.ToJsonString() ?? "no error given"}", 0);
        var (_, _, chain) = await PostAsync(order["certificate"]!.GetValue<string>(), null, false, cancellationToken);
        return new AcmeCertificate(chain, key.ExportPkcs8PrivateKeyPem());
    }

    private async Task AuthorizeAsync(string url, IAcmeChallengeHandler handler, CancellationToken cancellationToken)
    {
        var (authz, _, _) = await PostAsync(url, null, false, cancellationToken);
        if (authz["status"]?.GetValue<string>() == "valid") return; // reused from an earlier order
        var domain = authz["identifier"]?["value"]?.GetValue<string>() ?? throw new AcmeException("malformed", "an authorization without an identifier", 0);
        var challenge = authz["challenges"]?.AsArray().FirstOrDefault(c => c?["type"]?.GetValue<string>() == handler.ChallengeType)
            ?? throw new AcmeException("unsupportedChallenge", $"the CA offers no {handler.ChallengeType} challenge for {domain}", 0);
        var token = challenge["token"]!.GetValue<string>();
        if (token.Length is 0 or > 256 || !token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new AcmeException("malformed", $"challenge token for {domain} is not base64url", 0);
        var keyAuthorization = _key.KeyAuthorization(token);
        await handler.PublishAsync(domain, token, keyAuthorization, cancellationToken);
        try
        {
            await PostAsync(challenge["url"]!.GetValue<string>(), new JsonObject(), false, cancellationToken);
            authz = await PollAsync(url, $"authorization of {domain}", s => s is not "pending", cancellationToken);
            if (authz["status"]?.GetValue<string>() != "valid")
            {
                var error = authz["challenges"]?.AsArray().Select(c => c?["error"]?["detail"]?.GetValue<string>()).FirstOrDefault(d => d is not null);
                throw new AcmeException("unauthorized", $"{handler.ChallengeType} for {domain} ended {authz["status"]}: {error ?? "no detail"}", 0);
            }
        }
        finally
        {
            await handler.WithdrawAsync(domain, token, keyAuthorization);
        }
    }

    private async Task<JsonObject> PollAsync(string url, string what, Func<string?, bool> done, CancellationToken cancellationToken)
    {
        var deadline = _time.GetTimestamp();
        while (true)
        {
            var (body, _, _) = await PostAsync(url, null, false, cancellationToken);
            var status = body["status"]?.GetValue<string>();
            if (done(status)) return body;
            if (_time.GetElapsedTime(deadline) > PollTimeout)
                throw new AcmeException("timeout", $"the {what} was still {status} after {PollTimeout.TotalSeconds:0} s", 0);
            await Task.Delay(TimeSpan.FromMilliseconds(250), _time, cancellationToken);
        }
    }

    private async Task<string> UrlAsync(string name, CancellationToken cancellationToken)
    {
        if (_directory is null)
        {
            using var response = await _http.GetAsync(_directoryUrl, cancellationToken);
            response.EnsureSuccessStatusCode();
            _directory = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) as JsonObject
                ?? throw new AcmeException("malformed", $"{_directoryUrl} is not an ACME directory", (int)response.StatusCode);
        }
        return _directory[name]?.GetValue<string>() ?? throw new AcmeException("malformed", $"the directory has no {name}", 0);
    }

    private async Task<string> NonceAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _nonce, null) is { } nonce) return nonce;
        using var request = new HttpRequestMessage(HttpMethod.Head, await UrlAsync("newNonce", cancellationToken));
        using var response = await _http.SendAsync(request, cancellationToken);
        return response.Headers.TryGetValues("Replay-Nonce", out var values) ? values.First()
            : throw new AcmeException("badNonce", "new-nonce answered without a Replay-Nonce", (int)response.StatusCode);
    }

    /// <summary>One signed POST (payload null = POST-as-GET): the JSON body (or empty), the Location, and the raw text.</summary>
    private async Task<(JsonObject Body, string? Location, string Text)> PostAsync(string url, JsonNode? payload, bool useJwk, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var jws = _key.Sign(url, await NonceAsync(cancellationToken), useJwk ? null : AccountUrl, payload?.DeepClone());
            using var content = new StringContent(jws, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/jose+json");
            using var response = await _http.PostAsync(url, content, cancellationToken);
            if (response.Headers.TryGetValues("Replay-Nonce", out var nonces)) _nonce = nonces.First();
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                var json = response.Content.Headers.ContentType?.MediaType == "application/json" && text.Length > 0 ? JsonNode.Parse(text) as JsonObject : null;
                return (json ?? [], response.Headers.Location?.ToString(), text);
            }
            var problem = TryParse(text);
            var type = problem?["type"]?.GetValue<string>() ?? "unknown";
            if (type == BadNonce && attempt < 5) continue;
            throw new AcmeException(type, problem?["detail"]?.GetValue<string>() ?? text[..Math.Min(200, text.Length)], (int)response.StatusCode);
        }
    }

    private static JsonObject? TryParse(string text)
    {
        try { return JsonNode.Parse(text) as JsonObject; }
        catch (System.Text.Json.JsonException) { return null; }
    }
}
