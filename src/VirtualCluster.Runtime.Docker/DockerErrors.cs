using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet;

namespace VirtualCluster.Runtime.Docker;

/// <summary>Turns Docker Engine failures into sentences a user can act on.</summary>
internal static class DockerErrors
{
    /// <summary>True for failures that mean the daemon did not answer (socket gone, refused, reset, timed out).</summary>
    public static bool IsDaemonUnreachable(Exception e) => e switch
    {
        DockerApiException => false,
        HttpRequestException or SocketException or IOException or TimeoutException or ObjectDisposedException => true,
        OperationCanceledException => false,
        AggregateException a => a.InnerExceptions.Any(IsDaemonUnreachable),
        _ => e.InnerException is { } inner && IsDaemonUnreachable(inner),
    };

    /// <summary>The daemon's own message: the "message" of its JSON error body, or the raw text.</summary>
    public static string Message(Exception e)
    {
        if (e is DockerApiException api)
        {
            var body = api.ResponseBody?.Trim() ?? "";
            if (body.StartsWith('{'))
            {
                try
                {
                    using var json = JsonDocument.Parse(body);
                    if (json.RootElement.TryGetProperty("message", out var message) && message.GetString() is { Length: > 0 } text) return text;
                }
                catch (JsonException)
                {
                    // Not JSON after all: use the text as it is.
                }
            }
            return body.Length > 0 ? body : $"HTTP {(int)api.StatusCode} {api.StatusCode}";
        }
        var innermost = e;
        while (innermost.InnerException is { } inner && innermost is not SocketException) innermost = inner;
        return innermost == e ? e.Message : $"{e.Message} ({innermost.Message})";
    }

    public static string Unreachable(string endpoint, Exception e) =>
        $"the Docker daemon at {endpoint} is not reachable: {Message(e)}";

    public static bool IsNotFound(Exception e) => e is DockerApiException { StatusCode: HttpStatusCode.NotFound };

    /// <summary>
    /// Why a container did not start. Names the host port when the daemon says one is taken; the assigned
    /// ports are (name, host port) pairs.
    /// </summary>
    public static string StartFailure(Exception e, IReadOnlyDictionary<string, int> ports)
    {
        var message = Message(e);
        if (message.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
            || message.Contains("port is already allocated", StringComparison.OrdinalIgnoreCase))
        {
            var taken = ports.Where(p => message.Contains($":{p.Value}", StringComparison.Ordinal)).ToList();
            var which = taken.Count > 0
                ? string.Join(", ", taken.Select(p => $"{p.Value} ({p.Key})"))
                : string.Join(", ", ports.Select(p => $"{p.Value} ({p.Key})"));
            return $"host port {which} is already in use on this node: {message}";
        }
        return $"the container did not start: {message}";
    }
}
