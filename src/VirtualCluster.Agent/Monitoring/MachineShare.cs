using System.Globalization;

namespace VirtualCluster.Agent;

/// <summary>
/// This agent's part of a machine that several agents share (as `local` runs them): part <see cref="Part"/> of
/// <see cref="Of"/>. The agent then reports that part of the machine's capacity and of its measured use, so the nodes
/// of one machine add up to the machine instead of each claiming all of it.
/// </summary>
/// <remarks>
/// Part k of n of an amount T is ⌊T·k/n⌋ − ⌊T·(k−1)/n⌋: the parts differ by at most one unit and add up to T exactly.
/// </remarks>
public readonly record struct MachineShare(int Part, int Of)
{
    /// <summary>Node label saying which fraction of its machine a node reports, e.g. "1/3" for each of three agents.</summary>
    public const string Label = NodeLabels.MachineShare;

    /// <summary>Node label naming the machine shared (its host name), so the CLI can group its nodes.</summary>
    public const string MachineLabel = NodeLabels.Machine;

    /// <summary>Largest number of parts.</summary>
    public const int MaxParts = 256;

    /// <summary>True when 1 ≤ Part ≤ Of ≤ <see cref="MaxParts"/>.</summary>
    public bool IsValid => Of is >= 1 and <= MaxParts && Part >= 1 && Part <= Of;

    /// <summary>This part of <paramref name="total"/>.</summary>
    public long PartOf(long total) => Scale(total, Part) - Scale(total, Part - 1);

    /// <summary>This part of a capacity.</summary>
    public Resources Apply(Resources total) =>
        new(PartOf(total.CpuMillicores), PartOf(total.MemoryBytes), PartOf(total.DiskBytes), (int)PartOf(total.Gpus));

    /// <summary>This part of a measured use (the machine's use is split like its capacity).</summary>
    public ResourceUsage Apply(ResourceUsage total) =>
        new(PartOf(total.CpuMillicores), PartOf(total.MemoryBytes), PartOf(total.DiskBytes));

    /// <summary>Reads "k/n", e.g. "2/3".</summary>
    public static bool TryParse(string? text, out MachineShare share)
    {
        share = default;
        var parts = text?.Split('/') ?? [];
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var part)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var of)) return false;
        share = new MachineShare(part, of);
        return share.IsValid;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Part.ToString(CultureInfo.InvariantCulture)}/{Of.ToString(CultureInfo.InvariantCulture)}";

    // ⌊total·k/n⌋ without overflow for any byte count (Int128).
    private long Scale(long total, int k) => (long)((Int128)total * k / Of);
}
