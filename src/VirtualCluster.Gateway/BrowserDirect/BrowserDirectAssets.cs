using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace VirtualCluster.Gateway.BrowserDirect;

/// <summary>The bootstrap page and the service worker, embedded in the assembly (BrowserDirect/*.html, *.js).</summary>
internal static class BrowserDirectAssets
{
    private static readonly byte[] Page = Load("bootstrap.html");
    private static readonly byte[] Worker = Load("sw.js");

    public static Task WritePageAsync(HttpContext context) => WriteAsync(context, Page, "text/html; charset=utf-8");

    public static Task WriteWorkerAsync(HttpContext context)
    {
        // A worker at /.vc/direct/ may control the whole origin only with this header.
        context.Response.Headers["Service-Worker-Allowed"] = "/";
        return WriteAsync(context, Worker, "text/javascript; charset=utf-8");
    }

    private static Task WriteAsync(HttpContext context, byte[] body, string type)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = type;
        response.ContentLength = body.Length;
        // Small and versioned with the gateway: always revalidated, so a new gateway's page is picked up at once.
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Content-Type-Options"] = "nosniff";
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    private static byte[] Load(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("VirtualCluster.Gateway.BrowserDirect." + name)
            ?? throw new InvalidOperationException($"the gateway assembly lacks its embedded {name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Encoding.UTF8.GetBytes(reader.ReadToEnd());
    }
}
