using System.Net;

namespace VirtualCluster.Agent.Connection;

/// <summary>
/// Lets an agent know several control planes (a highly available control plane): each request goes to the one
/// that answered last; when it cannot be reached, or answers 503 (a follower that knows no leader, or a leader
/// stepping down), the request is sent to the next one, until each was tried once.
/// </summary>
internal sealed class ControlPlaneFailoverHandler : DelegatingHandler
{
    private readonly Uri[] _endpoints;
    private int _current;

    public ControlPlaneFailoverHandler(IEnumerable<Uri> endpoints)
    {
        _endpoints = endpoints.Select(e => e.AbsoluteUri.EndsWith('/') ? e : new Uri(e.AbsoluteUri + "/")).ToArray();
        if (_endpoints.Length == 0) throw new ArgumentException("At least one control-plane URL is needed.", nameof(endpoints));
    }

    /// <summary>Splits a comma-separated list of control-plane URLs.</summary>
    public static IReadOnlyList<string> Split(string urls) =>
        (urls ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_endpoints.Length == 1) return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (request.Content is not null) await request.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var relative = _endpoints.Select(e => e.MakeRelativeUri(request.RequestUri!)).FirstOrDefault(u => !u.IsAbsoluteUri)?.ToString()
            ?? request.RequestUri!.PathAndQuery.TrimStart('/');
        var start = Volatile.Read(ref _current);
        for (var attempt = 0; ; attempt++)
        {
            var index = (start + attempt) % _endpoints.Length;
            request.RequestUri = new Uri(_endpoints[index], relative);
            var last = attempt == _endpoints.Length - 1;
            try
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && !last)
                {
                    response.Dispose();
                    continue;
                }
                Volatile.Write(ref _current, index);
                return response;
            }
            catch (HttpRequestException) when (!last)
            {
                // Try the next control plane.
            }
            catch (OperationCanceledException) when (!last && !cancellationToken.IsCancellationRequested)
            {
                // That one timed out; try the next.
            }
        }
    }
}
