using Microsoft.Extensions.Options;
using VirtualCluster.Api;

namespace VirtualCluster.Gateway.AgentTls;

/// <summary>Asks the control plane for the certificate, with the admin token the gateway reads the service list with.</summary>
internal sealed class ControlPlaneCertificateIssuer(ControlPlaneReader reader, IOptions<GatewayOptions> options) : IGatewayCertificateIssuer
{
    public const string Path = "v1/tls/gateway-certificate";

    public async Task<GatewayCertificateResponse> IssueAsync(GatewayCertificateRequest request, CancellationToken cancellationToken = default)
    {
        (GatewayCertificateResponse? answer, int status) result;
        try
        {
            result = await reader.PostAsync<GatewayCertificateResponse>(Path, request, options.Value.ControlPlaneToken, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new GatewayCertificateException($"no control plane answered ({e.Message})", e);
        }
        return result switch
        {
            ({ } answer, _) => answer,
            (_, 401 or 403) => throw new GatewayCertificateException($"the control plane refused the gateway's token ({result.status}); the gateway needs an admin token (--token-file admin.token)"),
            (_, 404 or 405) => throw new GatewayCertificateException("the control plane has no /v1/tls/gateway-certificate (a release before agent-facing TLS): upgrade it, or run the gateway with --allow-plain-agents and the agents with --gateway ws://..."),
            _ => throw new GatewayCertificateException($"the control plane answered {result.status}"),
        };
    }
}
