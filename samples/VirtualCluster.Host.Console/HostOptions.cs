using System.CommandLine;

namespace VirtualCluster.Host.Console;

/// <summary>Options shared by the host's commands.</summary>
internal static class HostOptions
{
    public static Option<bool> ExitWithStdin() => new("--exit-with-stdin")
    {
        Description = "Stop when standard input closes (used by `local` so children never outlive it).",
        Hidden = true,
    };

    /// <summary>`--p2p on|off`: peer links (WebRTC data channels) between gateway and agents; off = tunnels only.</summary>
    public static Option<string> PeerLinks()
    {
        var option = new Option<string>("--p2p")
        {
            Description = "Peer links between gateway and agents (ICE + DTLS + SCTP data channels), with the tunnel as fallback: on (default) or off (tunnels only).",
            DefaultValueFactory = _ => "on",
        };
        option.AcceptOnlyFromAmong("on", "off");
        return option;
    }

    /// <summary>`--p2p-loopback`: offer loopback ICE candidates (everything on one machine, as `local` runs it).</summary>
    public static Option<bool> PeerLinksOnLoopback() => new("--p2p-loopback")
    {
        Description = "Offer loopback ICE candidates too (gateway and agents on one machine).",
        Hidden = true,
    };

    /// <summary>`--ice-transport-policy all|relay`: relay = only TURN-relayed candidates (WebRTC's iceTransportPolicy).</summary>
    public static Option<string> IceTransportPolicy()
    {
        var option = new Option<string>("--ice-transport-policy")
        {
            Description = "Peer-link candidates: all (default) or relay (only through the cluster's TURN servers).",
            DefaultValueFactory = _ => "all",
        };
        option.AcceptOnlyFromAmong("all", "relay");
        return option;
    }

    /// <summary>Stops the app when stdin reaches end of file, i.e. when the parent process is gone.</summary>
    public static void WatchStdin(Action stop)
    {
        var thread = new Thread(() =>
        {
            try
            {
                while (System.Console.In.ReadLine() is not null) { }
            }
            catch (IOException) { }
            stop();
        }) { IsBackground = true, Name = "stdin-watch" };
        thread.Start();
    }

    /// <summary>How to start this same program again (as an apphost, or through dotnet).</summary>
    public static (string FileName, string[] Prefix) SelfCommand()
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's path");
        return Path.GetFileNameWithoutExtension(path) == "dotnet"
            ? (path, [typeof(HostOptions).Assembly.Location])
            : (path, []);
    }

    /// <summary>--ca-fingerprint: the cluster CA an https control plane must present (agents and gateways).</summary>
    public static Option<string?> CaFingerprint() => new("--ca-fingerprint")
    {
        Description = "Trust only the cluster CA with this fingerprint (sha256:..., the control plane's ca.fingerprint file) on https control planes. "
            + "Agents take it from the join token when not given.",
    };

    /// <summary>Checks a --ca-fingerprint value; adds the problem to <paramref name="errors"/>.</summary>
    public static string? ReadFingerprint(string? value, List<string> errors)
    {
        if (value is null) return null;
        if (VirtualCluster.Security.Tls.TlsFingerprint.TryParse(value, out var parsed, out var problem)) return parsed;
        errors.Add("--ca-fingerprint: " + problem);
        return null;
    }
}
