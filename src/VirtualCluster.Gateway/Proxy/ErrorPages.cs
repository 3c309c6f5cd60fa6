using System.Net;
using Microsoft.AspNetCore.Http;

namespace VirtualCluster.Gateway;

/// <summary>Answers the gateway gives itself: a short HTML page for browsers, plain text for everyone else.</summary>
internal static class ErrorPages
{
    public static Task WriteAsync(HttpContext context, int status, string title, string detail, int? retryAfterSeconds = null)
    {
        var response = context.Response;
        if (response.HasStarted) return Task.CompletedTask;
        response.Clear();
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        response.Headers["X-VirtualCluster-Gateway"] = "1";
        if (retryAfterSeconds is { } s) response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (context.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            response.ContentType = "text/html; charset=utf-8";
            var refresh = retryAfterSeconds is { } r ? $"<meta http-equiv=\"refresh\" content=\"{r}\">" : "";
            return response.WriteAsync($"""
                <!doctype html><html><head><meta charset="utf-8">{refresh}<title>{status} {WebUtility.HtmlEncode(title)}</title></head>
                <body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>{status} {WebUtility.HtmlEncode(title)}</h1>
                <p>{WebUtility.HtmlEncode(detail)}</p><hr><small>VirtualCluster gateway</small></body></html>
                """);
        }
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync($"{status} {title}: {detail}\n");
    }
}
