using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Security.Tls;

/// <summary>
/// Fetches the cluster CA's certificate from a control plane (<c>GET /v1/tls/ca</c>, no token sent) before trusting it,
/// the way kubeadm's token discovery does: the connection is not trusted yet, so what comes back counts only if its
/// fingerprint is the one pinned by the join token. A man in the middle can answer, but not with that CA.
/// </summary>
public static class CaDiscovery
{
    /// <summary>Path of the CA certificate on a control plane.</summary>
    public const string Path = "v1/tls/ca";

    private const int MaxPem = 64 * 1024;

    /// <summary>Fetches the CA from <paramref name="server"/> and teaches it to <paramref name="validator"/>.</summary>
    /// <exception cref="HttpRequestException">The server cannot be reached, or offered another CA (the message says which).</exception>
    public static async Task LearnAsync(Uri server, PinnedCaValidator validator, CancellationToken cancellationToken)
    {
        // Any certificate is accepted for this one request: what it returns is checked against the pin below, and
        // nothing secret is sent on it.
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10), MaxResponseContentBufferSize = MaxPem };
        var url = new Uri(new Uri(server.GetLeftPart(UriPartial.Authority) + "/"), Path);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-pem-file"));
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{url} answered {(int)response.StatusCode} instead of the cluster's CA certificate; is it a VirtualCluster control plane of a version with TLS?");
        var pem = await response.Content.ReadAsStringAsync(cancellationToken);
        X509Certificate2 ca;
        try
        {
            ca = X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw new HttpRequestException($"{url} did not answer a PEM certificate: {e.Message}", e);
        }
        using (ca)
        {
            if (!validator.TryLearn(ca, out var problem))
                throw new HttpRequestException($"refusing {server.GetLeftPart(UriPartial.Authority)}: {problem}");
        }
    }
}
