using Microsoft.IdentityModel.JsonWebTokens;

namespace VirtualCluster.Security;

public sealed partial class TokenService
{
    private const string MachineGenerationClaim = "mgen";

    /// <summary>
    /// Issues the credential a node gets when it joins: role machine, subject the node id, and the node's credential
    /// generation (a new one at every join), so a revoked node's tokens, and the tokens of its earlier joins, are refused.
    /// </summary>
    /// <param name="lifetime">How long it is valid; null for never (agents are handed a fresh one before it runs out).</param>
    /// <exception cref="ArgumentException">An empty node id or generation, or a lifetime that is not positive.</exception>
    public string IssueMachineToken(string nodeId, string generation, TimeSpan? lifetime = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeId);
        ArgumentException.ThrowIfNullOrWhiteSpace(generation);
        if (lifetime is { } span && span <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(lifetime), span, "The lifetime must be positive.");
        return Create(nodeId, TokenRoles.Machine, lifetime, new Dictionary<string, object> { [MachineGenerationClaim] = generation });
    }

    private static TokenPrincipal WithMachineGeneration(JsonWebToken jwt, TokenPrincipal principal) =>
        principal.Role == TokenRoles.Machine && jwt.TryGetPayloadValue<string>(MachineGenerationClaim, out var generation) && !string.IsNullOrWhiteSpace(generation)
            ? principal with { MachineGeneration = generation }
            : principal;
}
