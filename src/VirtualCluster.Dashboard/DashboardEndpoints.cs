using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace VirtualCluster.Dashboard;

/// <summary>Maps the web dashboard. Its files are public (they hold no data); everything it shows comes from the /v1 API with the token the user signs in with.</summary>
public static partial class DashboardEndpoints
{
    /// <summary>The dashboard's path when none is given.</summary>
    public const string DefaultPath = "/ui";

    // Only this origin: no CDN, no fonts, no beacons; the page cannot be framed or post forms elsewhere.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Serves the dashboard under <paramref name="path"/> (e.g. "/ui": the page is /ui/). Map the control plane's API in the same app.</summary>
    public static IEndpointRouteBuilder MapVirtualClusterDashboard(this IEndpointRouteBuilder app, string path = DefaultPath)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (!PathPattern().IsMatch(path))
            throw new ArgumentException($"the dashboard path must look like \"/ui\" (a slash, then letters, digits, '-', '_' or '/', no trailing slash); got \"{path}\"", nameof(path));
        var assets = DashboardAssets.All;
        // Routing matches "/ui" and "/ui/" alike; the page's relative asset links need the slash.
        app.MapGet(path, (HttpContext context) => context.Request.Path.Value?.EndsWith('/') == true
            ? Serve(context, assets["index.html"])
            : Results.Redirect(path + "/" + context.Request.QueryString));
        app.MapGet(path + "/{file}", (HttpContext context, string file) =>
            assets.TryGetValue(file, out var asset) ? Serve(context, asset) : Results.NotFound());
        return app;
    }

    private static IResult Serve(HttpContext context, DashboardAsset asset)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ETag = asset.ETag;
        headers.CacheControl = "no-cache"; // revalidated with the ETag: a new release shows at the next load
        headers.Vary = HeaderNames.AcceptEncoding;
        if (context.Request.Headers.IfNoneMatch.Contains(asset.ETag)) return Results.StatusCode(StatusCodes.Status304NotModified);
        var accepts = context.Request.Headers.AcceptEncoding.ToString();
        if (accepts.Contains("br", StringComparison.OrdinalIgnoreCase))
        {
            headers.ContentEncoding = "br";
            return Results.Bytes(asset.Brotli, asset.ContentType);
        }
        if (accepts.Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            headers.ContentEncoding = "gzip";
            return Results.Bytes(asset.Gzip, asset.ContentType);
        }
        return Results.Bytes(asset.Raw, asset.ContentType);
    }

    [GeneratedRegex("^/[A-Za-z0-9_/-]*[A-Za-z0-9_-]$")]
    private static partial Regex PathPattern();
}
