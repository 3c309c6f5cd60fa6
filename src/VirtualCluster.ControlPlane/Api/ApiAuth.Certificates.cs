using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Api;

internal static partial class ApiAuth
{
    /// <summary>
    /// A 403 when a machine token comes with a client certificate that is not its node's (or without one where one is
    /// required); null when the request may go on. Other roles are not concerned: people have no certificates.
    /// </summary>
    private static IResult? CheckClientCertificate(HttpContext http, TokenPrincipal principal)
    {
        if (principal.Role != TokenRoles.Machine) return null;
        return http.RequestServices.GetRequiredService<AgentCertificates>().Problem(http, principal) is { } problem
            ? Refuse(http, 403, problem, principal.Subject)
            : null;
    }
}
