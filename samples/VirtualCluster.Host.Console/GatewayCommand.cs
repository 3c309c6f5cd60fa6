using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VirtualCluster.Gateway;

namespace VirtualCluster.Host.Console;

/// <summary>`gateway`: stable URLs for every service (http://&lt;service&gt;.&lt;domain&gt;/), reaching instances through the agents' tunnels.</summary>
internal static class GatewayCommand
{
    public static Command Create()
    {
        var server = new Option<string?>("--server") { Description = "Control-plane URL(s), comma-separated, e.g. https://127.0.0.1:7070.", Required = true };
        var token = new Option<string?>("--token") { Description = "Admin token to read the service list with (or use --token-file)." };
        var tokenFile = new Option<string?>("--token-file") { Description = "File holding the admin token (the control plane's admin.token)." };
        var caFingerprint = HostOptions.CaFingerprint();
        var listen = new Option<string>("--listen") { Description = "URL(s) to serve services and the agents' tunnels on, comma-separated.", DefaultValueFactory = _ => "http://0.0.0.0:8080" };
        var domain = new Option<string>("--domain") { Description = "Cluster domain: service X answers at http://X.<domain>/.", DefaultValueFactory = _ => "localhost" };
        var name = new Option<string>("--name") { Description = "Gateway name; it signals as gateway:<name>.", DefaultValueFactory = _ => "gateway" };
        var p2p = HostOptions.PeerLinks();
        var p2pLoopback = HostOptions.PeerLinksOnLoopback();
        var policy = HostOptions.IceTransportPolicy();
        var exitWithStdin = HostOptions.ExitWithStdin();
        var command = new Command("gateway", "Run a gateway: every service at http://<service>.<domain>/, reached over peer links to the agents or their outbound tunnels.")
        {
            server, token, tokenFile, caFingerprint, listen, domain, name, p2p, p2pLoopback, policy, exitWithStdin,
        };
        command.SetAction(async (parse, _) =>
        {
            var errors = new List<string>();
            var urls = parse.GetValue(listen)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var url in urls)
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "http")
                    errors.Add($"--listen \"{url}\" is not an http URL; use e.g. http://0.0.0.0:8080");
            var secret = parse.GetValue(token);
            if (parse.GetValue(tokenFile) is { } file)
            {
                try { secret = File.ReadAllText(file).Trim(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { errors.Add($"--token-file: cannot read {file}: {e.Message}"); }
            }
            var fingerprint = HostOptions.ReadFingerprint(parse.GetValue(caFingerprint), errors);
            if (string.IsNullOrEmpty(secret) && errors.Count == 0) errors.Add("--token or --token-file is required: the gateway reads the service list with an admin token");
            if (errors.Count > 0)
            {
                foreach (var e in errors) System.Console.Error.WriteLine($"error: {e}");
                return 2;
            }
            return await RunAsync(urls, parse.GetValue(server)!, secret!, parse.GetValue(domain)!, parse.GetValue(exitWithStdin), o =>
            {
                o.Name = parse.GetValue(name)!;
                o.ControlPlaneCaFingerprint = fingerprint;
                o.PeerLinks = parse.GetValue(p2p) == "on";
                o.PeerLinksOnLoopback = parse.GetValue(p2pLoopback);
                o.PeerLinksRelayOnly = parse.GetValue(policy) == "relay";
            });
        });
        return command;
    }

    /// <summary>The runtime's switch for running socket completions on its event threads (read once, at the first socket operation).</summary>
    private const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    private static async Task<int> RunAsync(string[] urls, string server, string token, string domain, bool exitWithStdin, Action<GatewayOptions> more)
    {
        // A gateway process runs only asynchronous code on its sockets (Kestrel, the proxy, tunnels, signaling), so a
        // socket's completion may continue on the runtime's event thread instead of waking a thread-pool worker: with
        // ApplyGatewayTransport, a request is read, proxied and its response sent without a hand-off between threads
        // (docs/benchmarks.md, Gateway). Set before the first socket exists; an explicit setting of the variable wins.
        if (Environment.GetEnvironmentVariable(InlineSocketCompletions) is null) Environment.SetEnvironmentVariable(InlineSocketCompletions, "1");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(GatewayServiceCollectionExtensions.ApplyGatewayLimits);
        builder.WebHost.UseSockets(GatewayServiceCollectionExtensions.ApplyGatewayTransport);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        builder.Services.AddVirtualClusterGateway(o =>
        {
            o.ControlPlaneUrls = server;
            o.ControlPlaneToken = token;
            o.Domain = domain;
            more(o);
        });
        await using var app = builder.Build();
        app.UseVirtualClusterGateway();
        app.MapVirtualClusterGatewayEndpoints();
        app.MapGet("/", () => $"VirtualCluster gateway: services answer at http://<service>.{domain}/ (this host is the gateway itself)\n");
        if (exitWithStdin) HostOptions.WatchStdin(() => app.Lifetime.StopApplication());
        try
        {
            await app.RunAsync();
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            System.Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            System.Console.Error.WriteLine($"error: cannot listen on {string.Join(", ", urls)}: {e.Message}; pick another with --listen");
            return 1;
        }
        return 0;
    }
}
