namespace VirtualCluster.Security;

/// <summary>Roles a token can carry, stored in its <c>role</c> claim.</summary>
public static class TokenRoles
{
    /// <summary>A person or tool managing the cluster (CLI, API clients): everything, users and tokens included.</summary>
    public const string Admin = "admin";

    /// <summary>A person who runs services: deploy, remove, drain, rebalance, logs, service tokens; no users or join tokens.</summary>
    public const string Operator = "operator";

    /// <summary>A person who only looks: status, nodes, services, events, explain, capacity.</summary>
    public const string Viewer = "viewer";

    /// <summary>An agent that has joined; it reports heartbeats for its own node.</summary>
    public const string Machine = "machine";

    /// <summary>Lets a new agent join the cluster and nothing else.</summary>
    public const string Join = "join";

    /// <summary>Lets a browser or client reach one service through the gateway (subject <c>service:&lt;name&gt;</c>); issued by <see cref="TokenService.IssueServiceToken"/>.</summary>
    public const string Service = "service";

    /// <summary>True when <paramref name="role"/> is one of the roles above (case-sensitive).</summary>
    public static bool IsKnown(string? role) => role is Admin or Operator or Viewer or Machine or Join or Service;

    /// <summary>True for the roles people hold: <see cref="Admin"/>, <see cref="Operator"/>, <see cref="Viewer"/>.</summary>
    public static bool IsUserRole(string? role) => role is Admin or Operator or Viewer;

    /// <summary>
    /// Rank of a user role (viewer 1, operator 2, admin 3; 0 for any other role), so "at least operator" is a comparison:
    /// each role can do everything the roles below it can.
    /// </summary>
    public static int Rank(string? role) => role switch
    {
        Admin => 3,
        Operator => 2,
        Viewer => 1,
        _ => 0,
    };

    /// <summary>The lower of two user roles (a token never grants more than its user holds now).</summary>
    public static string Lower(string a, string b) => Rank(a) <= Rank(b) ? a : b;
}
