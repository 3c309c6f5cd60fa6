using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VirtualCluster.Dns;
using VirtualCluster.Gateway;
using VirtualCluster.Gateway.AgentTls;
using VirtualCluster.Gateway.Dns;
using VirtualCluster.Gateway.Tls;

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
        var dnsListen = new Option<string?>("--dns-listen")
        {
            Description = "Answer DNS for the cluster domain on this UDP address:port (e.g. 0.0.0.0:53, or 127.0.0.1:5353 to try it): <service>.<domain> resolves to this gateway. Off when not given.",
        };
        var publicAddress = new Option<string?>("--public-address")
        {
            Description = "Address(es), comma-separated, that names in the cluster domain resolve to (this gateway's public IPv4/IPv6). Default: the --dns-listen address when it is a specific one.",
        };
        var allowPlainAgents = new Option<bool>("--allow-plain-agents")
        {
            Description = "Also accept agents' tunnels and signaling over plain ws:// (agents of an earlier release, or a proxy terminating TLS): their machine tokens then cross the network in clear. Default: TLS only, with a certificate of the cluster CA on the same port.",
        };
        var requireClientCert = new Option<bool>("--require-client-cert")
        {
            Description = "Refuse agents' tunnels and signaling that come without their node's client certificate (agents get one when they join), so a machine token read off the network is no use alone. Default: a certificate is checked when presented.",
        };
        var domainResolver = new Option<string?>("--domain-resolver")
        {
            Description = "DNS server (address:port, e.g. 1.1.1.1:53) that services' custom domains are looked up with to see whether they point at this gateway. Default: the system's resolver.",
        };
        var tls = new GatewayTlsFlags();
        var command = new Command("gateway", "Run a gateway: every service at http://<service>.<domain>/, reached over peer links to the agents or their outbound tunnels.")
        {
            server, token, tokenFile, caFingerprint, listen, domain, name, p2p, p2pLoopback, policy, exitWithStdin, dnsListen, publicAddress, allowPlainAgents, requireClientCert, domainResolver,
        };
        foreach (var option in tls.All) command.Options.Add(option);
        command.SetAction(async (parse, _) =>
        {
            var errors = new List<string>();
            var urls = parse.GetValue(listen)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var https = new List<System.Net.IPEndPoint>();
            foreach (var url in urls)
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    errors.Add($"--listen \"{url}\" is not an http(s) URL; use e.g. http://0.0.0.0:8080 or https://0.0.0.0:8443");
                else if (uri.Scheme == "https")
                {
                    if (GatewayTlsFlags.EndPointOf(uri) is { } endpoint) https.Add(endpoint);
                    else errors.Add($"--listen \"{url}\": an https URL needs an IP address, localhost or * as its host");
                }
            }
            var secret = parse.GetValue(token);
            if (parse.GetValue(tokenFile) is { } file)
            {
                try { secret = File.ReadAllText(file).Trim(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { errors.Add($"--token-file: cannot read {file}: {e.Message}"); }
            }
            var fingerprint = HostOptions.ReadFingerprint(parse.GetValue(caFingerprint), errors);
            if (string.IsNullOrEmpty(secret) && errors.Count == 0) errors.Add("--token or --token-file is required: the gateway reads the service list with an admin token");
            var dns = parse.GetValue(dnsListen);
            var addresses = (parse.GetValue(publicAddress) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            if (dns is null && addresses.Count > 0) errors.Add("--public-address is what DNS answers; give --dns-listen too (e.g. --dns-listen 0.0.0.0:53)");
            if (dns is not null && addresses.Count == 0 && System.Net.IPEndPoint.TryParse(dns, out var dnsEndPoint)
                && (dnsEndPoint.Address.Equals(System.Net.IPAddress.Any) || dnsEndPoint.Address.Equals(System.Net.IPAddress.IPv6Any)))
                errors.Add($"--dns-listen {dns} is a wildcard address: give --public-address with the address(es) that names should resolve to (e.g. --public-address 203.0.113.10)");
            var tlsSettings = tls.Read(parse, https, dns is not null, errors);
            var resolver = parse.GetValue(domainResolver);
            if (resolver is not null && (!System.Net.IPEndPoint.TryParse(resolver, out var resolverEndPoint) || resolverEndPoint.Port == 0))
                errors.Add($"--domain-resolver \"{resolver}\" is not an address and port like 127.0.0.1:53 or [::1]:53");
            // Plain-http endpoints serve agents over TLS too (same port), so Kestrel gets them as endpoints, not URLs.
            var http = new List<System.Net.IPEndPoint>();
            foreach (var url in urls.Where(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase)))
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) continue;
                if (GatewayTlsFlags.EndPointOf(uri) is { } endpoint) http.Add(endpoint);
                else errors.Add($"--listen \"{url}\": an http URL needs an IP address, localhost or * as its host (e.g. http://0.0.0.0:8080)");
            }
            if (errors.Count > 0)
            {
                foreach (var e in errors) System.Console.Error.WriteLine($"error: {e}");
                return 2;
            }
            return await RunAsync(new Endpoints(http, https), parse.GetValue(server)!, secret!, parse.GetValue(domain)!, parse.GetValue(exitWithStdin), o =>
            {
                o.Name = parse.GetValue(name)!;
                o.ControlPlaneCaFingerprint = fingerprint;
                o.PeerLinks = parse.GetValue(p2p) == "on";
                o.PeerLinksOnLoopback = parse.GetValue(p2pLoopback);
                o.PeerLinksRelayOnly = parse.GetValue(policy) == "relay";
                o.AllowPlainAgents = parse.GetValue(allowPlainAgents);
                o.RequireClientCertificate = parse.GetValue(requireClientCert);
                o.DomainResolver = resolver;
            }, dns is null ? null : o =>
            {
                o.Listen = dns;
                o.Addresses = addresses;
            }, tlsSettings);
        });
        return command;
    }

    /// <summary>Where to listen: plain-http endpoints (which take agents' TLS too) and https endpoints (ACME or the user's certificate).</summary>
    private sealed record Endpoints(IReadOnlyList<System.Net.IPEndPoint> Http, IReadOnlyList<System.Net.IPEndPoint> Https);

    /// <summary>The runtime's switch for running socket completions on its event threads (read once, at the first socket operation).</summary>
    private const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    private static async Task<int> RunAsync(Endpoints endpoints, string server, string token, string domain, bool exitWithStdin, Action<GatewayOptions> more,
        Action<DnsServerOptions>? dns, Action<GatewayTlsOptions>? tls)
    {
        // A gateway process runs only asynchronous code on its sockets (Kestrel, the proxy, tunnels, signaling), so a
        // socket's completion may continue on the runtime's event thread instead of waking a thread-pool worker: with
        // ApplyGatewayTransport, a request is read, proxied and its response sent without a hand-off between threads
        // (docs/benchmarks.md, Gateway). Set before the first socket exists; an explicit setting of the variable wins.
        if (Environment.GetEnvironmentVariable(InlineSocketCompletions) is null) Environment.SetEnvironmentVariable(InlineSocketCompletions, "1");
        var builder = WebApplication.CreateSlimBuilder();
        string[] urls = [.. endpoints.Http.Select(e => $"http://{e}"), .. endpoints.Https.Select(e => $"https://{e}")];
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            GatewayServiceCollectionExtensions.ApplyGatewayLimits(kestrel);
            // Browsers get plain http as before; agents, given the same URL, open TLS on it (cluster CA's certificate).
            foreach (var endpoint in endpoints.Http)
                kestrel.Listen(endpoint, l => l.UseGatewayAgentTls(kestrel.ApplicationServices.GetRequiredService<AgentTlsCertificate>()));
            foreach (var endpoint in endpoints.Https) kestrel.ListenGatewayHttps(endpoint);
        });
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
        if (dns is not null)
            builder.Services.AddVirtualClusterGatewayDns(o =>
            {
                o.Domain = domain;
                dns(o);
            });
        if (tls is not null) builder.Services.AddVirtualClusterGatewayTls(tls);
        await using var app = builder.Build();
        if (tls is not null) app.UseVirtualClusterGatewayTls();
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
        catch (InvalidOperationException e) when (e.InnerException is System.Net.Sockets.SocketException)
        {
            System.Console.Error.WriteLine($"error: {e.Message}; pick another with --dns-listen");
            return 1;
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            System.Console.Error.WriteLine($"error: cannot listen on {string.Join(", ", urls)}: {e.Message}; pick another with --listen");
            return 1;
        }
        return 0;
    }
}
