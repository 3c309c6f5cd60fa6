using System.Net;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Http;

/// <summary>The control plane answered with an error status.</summary>
/// <param name="status">HTTP status code.</param>
/// <param name="error">The parsed <see cref="ApiError"/> body, when the body was one.</param>
/// <param name="message">Readable sentence: the server's own error, or a description of the status.</param>
internal sealed class ApiException(HttpStatusCode status, ApiError? error, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
    public ApiError? Error { get; } = error;
}
