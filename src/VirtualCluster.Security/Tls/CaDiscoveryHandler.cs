namespace VirtualCluster.Security.Tls;

/// <summary>
/// Before the first https request of a client pinned by fingerprint alone, fetches the CA (<see cref="CaDiscovery"/>)
/// from the server the request goes to. Put it in front of a handler whose certificate check is the same
/// <see cref="PinnedCaValidator"/>.
/// </summary>
public sealed class CaDiscoveryHandler(PinnedCaValidator validator) : DelegatingHandler
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (validator.Ca is null && request.RequestUri is { Scheme: "https" } uri)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (validator.Ca is null) await CaDiscovery.LearnAsync(uri, validator, cancellationToken);
            }
            finally
            {
                _gate.Release();
            }
        }
        return await base.SendAsync(request, cancellationToken);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _gate.Dispose();
        base.Dispose(disposing);
    }
}
