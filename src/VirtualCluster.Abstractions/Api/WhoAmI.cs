namespace VirtualCluster.Api;

/// <summary>Answer of GET /v1/whoami: whom the caller's token names (a gateway checks agents' tokens with it).</summary>
/// <param name="Subject">The token's subject: a node id for a machine token.</param>
/// <param name="Role">admin, machine or join.</param>
/// <param name="ExpiresAt">When the token expires, if it does.</param>
public sealed record WhoAmI(string Subject, string Role, DateTimeOffset? ExpiresAt);
