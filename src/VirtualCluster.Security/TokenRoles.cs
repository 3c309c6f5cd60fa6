namespace VirtualCluster.Security;

/// <summary>Roles a token can carry, stored in its <c>role</c> claim.</summary>
public static class TokenRoles
{
    /// <summary>A person or tool managing the cluster (CLI, API clients).</summary>
    public const string Admin = "admin";

    /// <summary>An agent that has joined; it reports heartbeats for its own node.</summary>
    public const string Machine = "machine";

    /// <summary>Lets a new agent join the cluster and nothing else.</summary>
    public const string Join = "join";

    /// <summary>Lets a browser or client reach one service through the gateway (subject <c>service:&lt;name&gt;</c>); issued by <see cref="TokenService.IssueServiceToken"/>.</summary>
    public const string Service = "service";

    /// <summary>True when <paramref name="role"/> is one of the roles above (case-sensitive).</summary>
    public static bool IsKnown(string? role) => role is Admin or Machine or Join or Service;
}
