namespace VirtualCluster.Agent.Connection;

/// <summary>
/// The agent's bottom HTTP handler: a <see cref="SocketsHttpHandler"/> that presents the node's client certificate on
/// each new connection, replaced by a fresh one whenever the certificate changes, so that a renewed certificate is
/// used at once instead of when the pooled connections happen to close (the old one could expire on them).
/// </summary>
internal sealed class ClientCertificateHandler(Func<SocketsHttpHandler> create, AgentCertificate certificate) : HttpMessageHandler
{
    private readonly Lock _gate = new();
    private HttpMessageInvoker? _current;
    private HttpMessageInvoker? _previous;
    private int _version = -1;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Invoker().SendAsync(request, cancellationToken);

    private HttpMessageInvoker Invoker()
    {
        var version = certificate.Version;
        lock (_gate)
        {
            if (_current is not null && version == _version) return _current;
            var handler = create();
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate.Current!;
            // Renewals are hours apart (seconds only in tests): by the next one, requests on the handler before the
            // previous have long finished (the client's timeout is seconds), so it can go.
            _previous?.Dispose();
            _previous = _current;
            _current = new HttpMessageInvoker(handler, disposeHandler: true);
            _version = version;
            return _current;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                _previous?.Dispose();
                _current?.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
