using System.Net;
using System.Text;
using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Tests;

/// <summary>
/// Test double of the control plane: records every request and answers from canned responses per
/// "METHOD /path?query". Responses registered for the same route are returned in order; the last one repeats.
/// </summary>
public sealed class FakeControlPlaneHandler : HttpMessageHandler
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<Func<HttpResponseMessage>>> _routes = new(StringComparer.Ordinal);
    private readonly List<RecordedRequest> _requests = [];

    public sealed record RecordedRequest(HttpMethod Method, Uri Uri, string PathAndQuery, string? Authorization, string? ContentType, string? Body);

    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_gate) return [.. _requests]; }
    }

    /// <summary>Queues a response; <paramref name="body"/> is sent as is when a string, else serialized like the real API.</summary>
    public FakeControlPlaneHandler Respond(HttpMethod method, string pathAndQuery, HttpStatusCode status, object? body = null)
    {
        var text = body switch
        {
            null => null,
            string s => s,
            _ => JsonSerializer.Serialize(body, body.GetType(), VirtualClusterJson.Options),
        };
        return Respond(method, pathAndQuery, () =>
        {
            var response = new HttpResponseMessage(status);
            if (text is not null) response.Content = new StringContent(text, Encoding.UTF8, "application/json");
            return response;
        });
    }

    public FakeControlPlaneHandler Respond(HttpMethod method, string pathAndQuery, Func<HttpResponseMessage> respond)
    {
        lock (_gate)
        {
            var key = Key(method, pathAndQuery);
            if (!_routes.TryGetValue(key, out var queue)) _routes[key] = queue = new Queue<Func<HttpResponseMessage>>();
            queue.Enqueue(respond);
        }
        return this;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var pathAndQuery = request.RequestUri!.PathAndQuery;
        Func<HttpResponseMessage>? respond = null;
        lock (_gate)
        {
            _requests.Add(new RecordedRequest(
                request.Method,
                request.RequestUri,
                pathAndQuery,
                request.Headers.Authorization?.ToString(),
                request.Content?.Headers.ContentType?.MediaType,
                body));
            if (_routes.TryGetValue(Key(request.Method, pathAndQuery), out var queue))
                respond = queue.Count > 1 ? queue.Dequeue() : queue.Peek();
        }
        return respond?.Invoke() ?? new HttpResponseMessage(HttpStatusCode.NotFound)
        {
            Content = new StringContent(
                JsonSerializer.Serialize(new ApiError($"fake control plane has no route for {request.Method} {pathAndQuery}"), VirtualClusterJson.Options),
                Encoding.UTF8,
                "application/json"),
        };
    }

    private static string Key(HttpMethod method, string pathAndQuery) => $"{method.Method} {pathAndQuery}";
}
