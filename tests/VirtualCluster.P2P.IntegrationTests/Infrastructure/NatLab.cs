namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>NAT behaviours built with iptables in a router namespace.</summary>
public enum NatType
{
    /// <summary>Plain MASQUERADE: endpoint-independent mapping (the source port is kept), address-and-port-dependent filtering.</summary>
    PortRestrictedCone,
    /// <summary>MASQUERADE plus a DNAT of every inbound UDP port back to the host (MASQUERADE keeps ports): anyone can reach a mapping.</summary>
    FullCone,
    /// <summary>MASQUERADE --random: a new random port for every destination (endpoint-dependent mapping).</summary>
    Symmetric,
}

/// <summary>One home network: a host behind its own NAT router.</summary>
public sealed record Home(string Name, NatType Nat, string Namespace, string RouterNamespace, string HostAddress, string RouterAddress);

/// <summary>
/// A NAT laboratory of network namespaces, all named "&lt;prefix&gt;&lt;pid&gt;-..." (prefix "vcp2p-" for the P2P
/// tests; other test projects pass their own so concurrent runs never touch each other's labs): a "public" namespace with a bridge
/// (203.0.113.0/24, TEST-NET-3) and coturn on 203.0.113.1, and per home a router namespace (WAN 203.0.113.x, LAN
/// 10.77.N.1/24) doing NAT with iptables, and a host namespace (10.77.N.2). Nothing is created in the root
/// namespace, so deleting the namespaces removes every veth, address, route and iptables rule; processes inside are
/// killed first. Leftovers of a crashed run (namespaces whose pid is gone) are removed on creation.
/// </summary>
public sealed class NatLab : IDisposable
{
    /// <summary>The namespace prefix of the P2P tests' labs.</summary>
    public const string DefaultPrefix = "vcp2p-";
    public const string PublicAddress = "203.0.113.1";
    private const string SinkAddress = "203.0.113.254";
    public const int TurnPort = 3478;

    private readonly List<string> _namespaces = [];
    private readonly Dictionary<string, Home> _homes = [];
    private Coturn? _coturn;

    private NatLab(string prefix)
    {
        Prefix = prefix;
        PublicNamespace = $"{prefix}{Environment.ProcessId}-pub";
    }

    /// <summary>Every namespace of this lab is named &lt;Prefix&gt;&lt;pid&gt;-...</summary>
    public string Prefix { get; }

    public string PublicNamespace { get; }
    public IReadOnlyDictionary<string, Home> Homes => _homes;
    public Coturn Coturn => _coturn!;

    /// <summary>Why the lab cannot run here, or null when it can.</summary>
    public static string? UnavailableReason()
    {
        if (!OperatingSystem.IsLinux()) return "NAT tests need Linux network namespaces";
        if (!Shell.IsRoot) return "NAT tests need root (network namespaces and iptables); CI runs them as root";
        foreach (var tool in new[] { "ip", "iptables", "turnserver" })
            if (!Shell.Exists(tool)) return $"`{tool}` is not installed (run scripts/install-p2p-deps.sh as root)";
        return null;
    }

    /// <summary>Builds the lab with the given homes and starts coturn in the public namespace.</summary>
    public static async Task<NatLab> CreateAsync(IEnumerable<(string Name, NatType Nat)> homes, string prefix = DefaultPrefix)
    {
        RemoveLeftovers(prefix);
        var lab = new NatLab(prefix);
        try
        {
            lab.AddNamespace(lab.PublicNamespace);
            var pub = lab.PublicNamespace;
            Shell.Check("ip", "-n", pub, "link", "add", "br0", "type", "bridge");
            Shell.Check("ip", "-n", pub, "addr", "add", PublicAddress + "/24", "dev", "br0");
            Shell.Check("ip", "-n", pub, "link", "set", "br0", "up");
            AddInternetSink(pub, "br0");
            var index = 0;
            foreach (var (name, nat) in homes) lab.AddHome(name, nat, ++index);
            lab._coturn = await Coturn.StartAsync(PublicAddress, TurnPort, pub);
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    private void AddHome(string name, NatType nat, int index)
    {
        var router = $"{Prefix}{Environment.ProcessId}-r{index}";
        var host = $"{Prefix}{Environment.ProcessId}-h{index}";
        AddNamespace(router);
        AddNamespace(host);
        var wan = $"203.0.113.{10 + index}";
        var lan = $"10.77.{index}.1";
        var hostAddress = $"10.77.{index}.2";
        // WAN: a veth from the router to the public bridge
        Shell.Check("ip", "-n", router, "link", "add", "wan", "type", "veth", "peer", "name", $"r{index}", "netns", PublicNamespace);
        Shell.Check("ip", "-n", PublicNamespace, "link", "set", $"r{index}", "master", "br0", "up");
        Shell.Check("ip", "-n", router, "addr", "add", wan + "/24", "dev", "wan");
        Shell.Check("ip", "-n", router, "link", "set", "wan", "up");
        // LAN: a veth from the router to the host
        Shell.Check("ip", "-n", router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", host);
        Shell.Check("ip", "-n", router, "addr", "add", lan + "/24", "dev", "lan");
        Shell.Check("ip", "-n", router, "link", "set", "lan", "up");
        Shell.Check("ip", "-n", host, "addr", "add", hostAddress + "/24", "dev", "eth0");
        Shell.Check("ip", "-n", host, "link", "set", "eth0", "up");
        Shell.Check("ip", "-n", host, "route", "add", "default", "via", lan);
        Shell.Check("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        AddInternetSink(router, "wan");
        // NAT. Unsolicited datagrams to the router itself are dropped in INPUT, as a home router does; otherwise their
        // conntrack entries would make MASQUERADE pick another source port and break the cone behaviour.
        Iptables(router, "-A", "INPUT", "-i", "wan", "-p", "udp", "-j", "DROP");
        if (nat == NatType.Symmetric) Iptables(router, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE", "--random");
        else Iptables(router, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE");
        if (nat == NatType.FullCone) // new inbound flows (replies match conntrack first) go to the host, same port
            Iptables(router, "-t", "nat", "-A", "PREROUTING", "-i", "wan", "-p", "udp", "-j", "DNAT", "--to-destination", hostAddress);
        _homes[name] = new Home(name, nat, host, router, hostAddress, wan);
    }

    /// <summary>
    /// A default route to 203.0.113.254, a neighbour with a made-up MAC address that no interface has: datagrams to
    /// addresses that exist nowhere in the lab (e.g. another home's private address) vanish silently on the bridge, as
    /// they would on the internet, instead of failing with "network unreachable" (coturn drops an allocation whose
    /// relay socket gets that error).
    /// </summary>
    private static void AddInternetSink(string netns, string device)
    {
        Shell.Check("ip", "-n", netns, "neigh", "replace", SinkAddress, "lladdr", "02:00:5e:00:53:fe", "dev", device, "nud", "permanent");
        Shell.Check("ip", "-n", netns, "route", "add", "default", "via", SinkAddress, "dev", device);
    }

    /// <summary>Makes the home's router drop every UDP datagram it would forward, both ways: a network that allows only TCP.</summary>
    public void BlockUdp(string home) => Iptables(_homes[home].RouterNamespace, "-I", "FORWARD", "-p", "udp", "-j", "DROP");

    private static void Iptables(string netns, params string[] args) => Shell.Check("ip", ["netns", "exec", netns, "iptables", .. args]);

    private void AddNamespace(string name)
    {
        Shell.Check("ip", "netns", "add", name);
        _namespaces.Add(name);
        Shell.Check("ip", "-n", name, "link", "set", "lo", "up");
    }

    /// <summary>Deletes namespaces of runs whose process is gone (a crashed test run).</summary>
    public static void RemoveLeftovers(string prefix = DefaultPrefix)
    {
        var (_, list) = Shell.Run("ip", "netns", "list");
        foreach (var line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = line.Split(' ')[0];
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var pidText = name[prefix.Length..].Split('-')[0];
            if (int.TryParse(pidText, out var pid) && pid != Environment.ProcessId && Directory.Exists($"/proc/{pid}")) continue; // a live run
            DeleteNamespace(name);
        }
    }

    private static void DeleteNamespace(string name)
    {
        KillProcesses(name);
        Shell.Run("ip", "netns", "del", name);
    }

    /// <summary>
    /// The death of a machine: freezes every process in the namespace (so none can react or start another), then
    /// SIGKILLs them all, including any that appeared meanwhile. Returns how many were killed.
    /// </summary>
    public static int KillProcesses(string netns)
    {
        var pids = Pids(netns);
        foreach (var pid in pids) Shell.Run("kill", "-STOP", pid);
        pids = [.. pids.Union(Pids(netns))];
        foreach (var pid in pids) Shell.Run("kill", "-9", pid);
        return pids.Count;
    }

    /// <summary>Pids of the processes in a namespace, as text.</summary>
    public static List<string> Pids(string netns)
    {
        var (_, pids) = Shell.Run("ip", "netns", "pids", netns);
        return [.. pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(p => int.TryParse(p, out _))];
    }

    /// <summary>Kills coturn and everything else running in the lab, and deletes every namespace it made.</summary>
    public void Dispose()
    {
        _coturn?.Dispose();
        foreach (var name in Enumerable.Reverse(_namespaces)) DeleteNamespace(name);
        _namespaces.Clear();
    }
}
