namespace VirtualCluster;

/// <summary>Labels an agent sets on its node by itself.</summary>
public static class NodeLabels
{
    /// <summary>
    /// Which fraction of its machine a node reports when several agents share one machine, e.g. "1/3" for each of
    /// three: its capacity and its measured use are that part of the machine's (set by `agent --machine-share k/n`,
    /// which `local` uses).
    /// </summary>
    public const string MachineShare = "vcluster.io/machine-share";

    /// <summary>The host name of the machine a node shares with others (set together with <see cref="MachineShare"/>).</summary>
    public const string Machine = "vcluster.io/machine";
}
