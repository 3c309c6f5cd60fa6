namespace VirtualCluster.Api;

/// <summary>Body of POST /v1/tokens/introspect: the token a gateway wants checked (RFC 7662's idea, our JSON).</summary>
/// <param name="Token">The token as the client presented it.</param>
public sealed record TokenIntrospectionRequest(string Token);

/// <summary>
/// Answer of POST /v1/tokens/introspect. A gateway without the cluster's signing key checks service tokens with it;
/// <paramref name="Active"/> false means refused, with <paramref name="Error"/> saying why.
/// </summary>
/// <param name="Active">True when the token is valid now.</param>
/// <param name="Subject">Its subject (for a service token, <c>service:&lt;name&gt;</c>).</param>
/// <param name="Role">admin, machine, join or service.</param>
/// <param name="ExpiresAt">When it expires, if it does.</param>
/// <param name="Audience">The cluster it was issued for.</param>
/// <param name="Error">Why it was refused, when it was.</param>
public sealed record TokenIntrospection(bool Active, string? Subject = null, string? Role = null, DateTimeOffset? ExpiresAt = null,
    string? Audience = null, string? Error = null);
