namespace VirtualCluster.Security;

/// <summary>Who a valid token speaks for.</summary>
/// <param name="Subject">The <c>sub</c> claim: a node id, a user name, or a join-token label.</param>
/// <param name="Role">One of <see cref="TokenRoles"/>.</param>
/// <param name="ExpiresAt">When the token stops being valid, or null when it never expires.</param>
public sealed record TokenPrincipal(string Subject, string Role, DateTimeOffset? ExpiresAt)
{
    /// <summary>The node's credential generation a machine token was issued with (the <c>mgen</c> claim); null for other tokens and machine tokens of older releases.</summary>
    public string? MachineGeneration { get; init; }

    /// <summary>The token's own id (the <c>jti</c> claim), or null when it has none.</summary>
    public string? TokenId { get; init; }

    /// <summary>The id (<c>kid</c>) of the ES256 key that signed the token; null for a token of the cluster's old HMAC key.</summary>
    public string? KeyId { get; init; }

    /// <summary>The <c>aud</c> claim (the cluster id), or null when the token has none.</summary>
    public string? Audience { get; init; }

    /// <summary>
    /// The generation of the named user a user token was issued for (the <c>ugen</c> claim); a user removed and added
    /// again gets a new one, so tokens of the removed user stay dead. Null for other tokens.
    /// </summary>
    public string? UserGeneration { get; init; }

    /// <summary>The named user a user token speaks for (subject <c>user:&lt;name&gt;</c>); null for other tokens.</summary>
    public string? User => UserGeneration is not null && Subject.StartsWith(TokenService.UserSubjectPrefix, StringComparison.Ordinal)
        ? Subject[TokenService.UserSubjectPrefix.Length..]
        : null;

    /// <summary>The service a <see cref="TokenRoles.Service"/> token is for; null for other roles.</summary>
    public string? Service => Role == TokenRoles.Service && Subject.StartsWith(TokenService.ServiceScopePrefix, StringComparison.Ordinal)
        ? Subject[TokenService.ServiceScopePrefix.Length..]
        : null;
}
