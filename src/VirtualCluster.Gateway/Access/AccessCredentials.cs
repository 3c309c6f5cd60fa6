using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace VirtualCluster.Gateway.Access;

/// <summary>Finds a service token in a request and removes every copy of it, so the service never sees it.</summary>
internal static class AccessCredentials
{
    /// <summary>Where a token came from; decides whether a valid token is exchanged for a cookie.</summary>
    public enum Source { None, Query, Header, Cookie }

    /// <summary>
    /// The token a request presents, by precedence: the query parameter (a link just opened), the Authorization
    /// header, the cookie. <paramref name="ambiguous"/> is true when a place holds several different tokens.
    /// </summary>
    public static (string? Token, Source Source) Find(HttpRequest request, ServiceAccessOptions options, out bool ambiguous)
    {
        ambiguous = false;
        var query = request.Query[options.QueryParameter];
        if (query.Count > 0)
        {
            ambiguous = query.Count > 1;
            return (query[0], Source.Query);
        }
        var bearer = request.Headers.Authorization
            .Where(v => v is not null && v.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            .Select(v => v![7..].Trim())
            .ToList();
        if (bearer.Count > 0)
        {
            ambiguous = bearer.Count > 1;
            return (bearer[0], Source.Header);
        }
        var cookies = CookieValues(request, options.CookieName);
        if (cookies.Count > 0)
        {
            ambiguous = cookies.Distinct(StringComparer.Ordinal).Count() > 1;
            return (cookies[0], Source.Cookie);
        }
        return (null, Source.None);
    }

    /// <summary>Removes the query parameter, Bearer authorization and the access cookie from the request.</summary>
    public static void Strip(HttpRequest request, ServiceAccessOptions options)
    {
        if (request.Query.ContainsKey(options.QueryParameter))
            request.QueryString = Without(request.Query, options.QueryParameter);
        if (request.Headers.Authorization.Any(v => v is not null && v.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)))
            request.Headers.Remove(HeaderNames.Authorization);
        StripCookie(request, options.CookieName);
    }

    /// <summary>Removes only the access cookie (for public services: a stale cookie is not the service's business).</summary>
    public static void StripCookie(HttpRequest request, string cookieName)
    {
        var headers = request.Headers.Cookie;
        if (headers.Count == 0 || CookieValues(request, cookieName).Count == 0) return;
        var kept = new List<string>();
        foreach (var header in headers)
        {
            if (header is null) continue;
            foreach (var part in header.Split(';'))
            {
                var trimmed = part.Trim();
                if (trimmed.Length == 0 || IsCookie(trimmed, cookieName)) continue;
                kept.Add(trimmed);
            }
        }
        if (kept.Count == 0) request.Headers.Remove(HeaderNames.Cookie);
        else request.Headers.Cookie = string.Join("; ", kept);
    }

    /// <summary>The query string without <paramref name="name"/>, other parameters kept in order.</summary>
    public static QueryString Without(IQueryCollection query, string name) =>
        QueryString.Create(query.Where(p => !string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase))
            .SelectMany(p => p.Value.Select(v => new KeyValuePair<string, string?>(p.Key, v))));

    private static List<string> CookieValues(HttpRequest request, string cookieName)
    {
        var values = new List<string>();
        foreach (var header in request.Headers.Cookie)
        {
            if (header is null) continue;
            foreach (var part in header.Split(';'))
            {
                var trimmed = part.Trim();
                if (IsCookie(trimmed, cookieName)) values.Add(trimmed[(cookieName.Length + 1)..].Trim('"'));
            }
        }
        return values;
    }

    private static bool IsCookie(string pair, string cookieName) =>
        pair.Length > cookieName.Length && pair[cookieName.Length] == '=' && pair.StartsWith(cookieName, StringComparison.Ordinal);
}
