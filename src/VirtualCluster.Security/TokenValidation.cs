using System.Diagnostics.CodeAnalysis;

namespace VirtualCluster.Security;

/// <summary>Outcome of <see cref="TokenService.ValidateAsync"/>: either a principal or a readable error.</summary>
public sealed record TokenValidation
{
    private TokenValidation(TokenPrincipal? principal, string? error)
    {
        Principal = principal;
        Error = error;
    }

    /// <summary>Who the token speaks for; null when the token was rejected.</summary>
    public TokenPrincipal? Principal { get; }

    /// <summary>Why the token was rejected, e.g. "token signature is invalid"; null when it was accepted.</summary>
    public string? Error { get; }

    /// <summary>True when the token was accepted.</summary>
    [MemberNotNullWhen(true, nameof(Principal))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsValid => Principal is not null;

    /// <summary>An accepted token.</summary>
    public static TokenValidation Success(TokenPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return new(principal, null);
    }

    /// <summary>A rejected token.</summary>
    public static TokenValidation Failure(string error)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(error);
        return new(null, error);
    }
}
