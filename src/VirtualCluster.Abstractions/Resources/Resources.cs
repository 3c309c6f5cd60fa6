namespace VirtualCluster;

/// <summary>
/// A vector of schedulable resources. CPU is in millicores (1000 = one core), memory and disk in bytes.
/// Ports are not part of the vector: they are allocated from a node's <see cref="PortRange"/>.
/// <see cref="Gpus"/> counts whole devices; it is optional (0) so older JSON without it still reads.
/// </summary>
public readonly record struct Resources(long CpuMillicores, long MemoryBytes, long DiskBytes, int Gpus = 0)
{
    /// <summary>No resources.</summary>
    public static Resources Zero => default;

    public static Resources operator +(Resources a, Resources b) =>
        new(a.CpuMillicores + b.CpuMillicores, a.MemoryBytes + b.MemoryBytes, a.DiskBytes + b.DiskBytes, a.Gpus + b.Gpus);

    public static Resources operator -(Resources a, Resources b) =>
        new(a.CpuMillicores - b.CpuMillicores, a.MemoryBytes - b.MemoryBytes, a.DiskBytes - b.DiskBytes, a.Gpus - b.Gpus);

    public static Resources operator *(Resources a, int n) =>
        new(a.CpuMillicores * n, a.MemoryBytes * n, a.DiskBytes * n, a.Gpus * n);

    /// <summary>True when every dimension of <paramref name="request"/> is at most this one's.</summary>
    public bool Fits(Resources request) =>
        request.CpuMillicores <= CpuMillicores && request.MemoryBytes <= MemoryBytes && request.DiskBytes <= DiskBytes
        && request.Gpus <= Gpus;

    /// <inheritdoc />
    public override string ToString() =>
        $"cpu {Quantity.FormatCpu(CpuMillicores)}, memory {Quantity.FormatBytes(MemoryBytes)}, disk {Quantity.FormatBytes(DiskBytes)}"
        + (Gpus != 0 ? $", gpus {Gpus}" : "");
}

/// <summary>Measured use of a node's resources (not reservations).</summary>
/// <param name="NetworkReceiveBytesPerSecond">Bytes per second received on the machine's interfaces (loopback excluded) since the previous sample; 0 from agents that do not measure it.</param>
/// <param name="NetworkTransmitBytesPerSecond">Bytes per second sent, the same way.</param>
public readonly record struct ResourceUsage(long CpuMillicores, long MemoryBytes, long DiskBytes,
    long NetworkReceiveBytesPerSecond = 0, long NetworkTransmitBytesPerSecond = 0);

/// <summary>An inclusive range of host ports a node may hand to instances.</summary>
public readonly record struct PortRange(int First, int Last)
{
    /// <summary>Number of ports in the range.</summary>
    public int Count => Last - First + 1;

    /// <summary>True when the range is within 1..65535 and not empty.</summary>
    public bool IsValid => First >= 1 && Last <= 65535 && First <= Last;

    /// <summary>Parses "20000-20999".</summary>
    public static bool TryParse(string? text, out PortRange range)
    {
        range = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var parts = text.Split('-', 2);
        if (parts.Length != 2 || !int.TryParse(parts[0], out var first) || !int.TryParse(parts[1], out var last)) return false;
        range = new PortRange(first, last);
        return range.IsValid;
    }

    /// <inheritdoc />
    public override string ToString() => $"{First}-{Last}";
}
