using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Api;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tls;

/// <summary>
/// <c>POST /v1/tls/gateway-certificate</c> (admin): the cluster CA signs a gateway's key for its agent-facing TLS
/// (tunnels and signaling), with extended key usage serverAuth and the gateway's name in a URI SAN. A gateway already
/// holds an admin token (it reads the service list with one), so this gives it nothing it could not do otherwise.
/// </summary>
internal static class GatewayCertificateEndpoints
{
    public static void MapGatewayCertificate(this RouteGroupBuilder admin) =>
        admin.MapPost("/tls/gateway-certificate", (GatewayCertificateRequest? body, ClusterTls tls, IOptions<ControlPlaneOptions> options, TimeProvider time) =>
        {
            if (body is null) return ApiResults.Error(400, "the body must be {\"name\": \"<gateway name>\", \"certificateRequest\": \"<PEM PKCS#10>\"}");
            var errors = new List<FieldError>();
            if (string.IsNullOrWhiteSpace(body.Name) || body.Name.Length > 63 || !body.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
                errors.Add(new FieldError("name", "name must be 1-63 letters, digits, '-', '.' or '_' (the gateway's --name)"));
            if (!NodeCertificates.TryReadRequest(body.CertificateRequest, out var publicKey, out var problem))
                errors.Add(new FieldError("certificateRequest", problem));
            if (errors.Count > 0) return ApiResults.Error(400, new ApiError("the gateway certificate request is not valid; see errors", errors));
            using var certificate = tls.Ca.IssueGatewayCertificate(publicKey!, body.Name, options.Value.ServerCertificateLifetime, time);
            return ApiResults.Json(new GatewayCertificateResponse(certificate.ExportCertificatePem(), tls.Ca.CertificatePem()));
        });
}
