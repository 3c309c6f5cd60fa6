using System.Text.Json;
using System.Text.Json.Serialization;

namespace VirtualCluster.Monitoring.History;

/// <summary>
/// The points of one series in one tier for one block of time (one store key), and the bucket still being filled
/// (its sum, count and max), so that a restarted leader goes on aggregating where the last one stopped. Times are Unix
/// seconds; values are per metric in <see cref="Names"/> order, NaN where a metric had no sample.
/// </summary>
internal sealed class HistoryBlock
{
    public long Start { get; set; }
    public string[] Names { get; set; } = [];
    public List<long> Times { get; set; } = [];
    public List<double[]> Average { get; set; } = [];
    public List<double[]> Max { get; set; } = [];
    public long OpenAt { get; set; } = -1;
    public int OpenCount { get; set; }
    public double[] OpenSum { get; set; } = [];
    public double[] OpenMax { get; set; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        MaxDepth = 8,
    };

    public static HistoryBlock Empty(long start, string[] names) => new() { Start = start, Names = names };

    /// <summary>Adds a sample to bucket <paramref name="bucket"/>: closes the open bucket first when the sample is past it; a sample older than the open bucket is dropped.</summary>
    public bool Add(long bucket, ReadOnlySpan<double> values)
    {
        if (bucket < OpenAt) return false;
        if (bucket > OpenAt)
        {
            Close();
            OpenAt = bucket;
            OpenCount = 0;
            OpenSum = new double[Names.Length];
            OpenMax = new double[Names.Length];
            Array.Fill(OpenMax, double.NaN);
        }
        for (var i = 0; i < Names.Length; i++)
        {
            var v = values[i];
            if (double.IsNaN(v)) continue;
            OpenSum[i] += v;
            OpenMax[i] = double.IsNaN(OpenMax[i]) ? v : Math.Max(OpenMax[i], v);
        }
        OpenCount++;
        return true;
    }

    /// <summary>Turns the open bucket into a point.</summary>
    public void Close()
    {
        if (OpenAt < 0 || OpenCount == 0) { OpenAt = -1; return; }
        Times.Add(OpenAt);
        var avg = new double[Names.Length];
        for (var i = 0; i < avg.Length; i++) avg[i] = double.IsNaN(OpenMax[i]) ? double.NaN : OpenSum[i] / OpenCount;
        Average.Add(avg);
        Max.Add(OpenMax);
        OpenAt = -1;
        OpenCount = 0;
    }

    /// <summary>The points, with the open bucket as a last, partial point.</summary>
    public IEnumerable<(long At, double[] Average, double[] Max)> Points()
    {
        for (var i = 0; i < Times.Count; i++) yield return (Times[i], Average[i], Max[i]);
        if (OpenAt >= 0 && OpenCount > 0)
        {
            var avg = new double[Names.Length];
            for (var i = 0; i < avg.Length; i++) avg[i] = double.IsNaN(OpenMax[i]) ? double.NaN : OpenSum[i] / OpenCount;
            yield return (OpenAt, avg, (double[])OpenMax.Clone());
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>A stored block, or null when the text is not one (a corrupt value is skipped, never trusted).</summary>
    public static HistoryBlock? FromJson(string text)
    {
        try
        {
            var block = JsonSerializer.Deserialize<HistoryBlock>(text, Json);
            if (block is null || block.Names is null || block.Times is null || block.Average is null || block.Max is null) return null;
            var n = block.Names.Length;
            if (block.Average.Count != block.Times.Count || block.Max.Count != block.Times.Count
                || block.Average.Any(a => a?.Length != n) || block.Max.Any(a => a?.Length != n)) return null;
            if (block.OpenAt >= 0 && (block.OpenSum?.Length != n || block.OpenMax?.Length != n)) return null;
            return block;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>This block's values laid out for <paramref name="names"/> (a metric it lacks is NaN), for a series whose metrics changed between versions.</summary>
    public HistoryBlock WithNames(string[] names)
    {
        if (names.AsSpan().SequenceEqual(Names)) return this;
        var map = names.Select(n => Array.IndexOf(Names, n)).ToArray();
        double[] Remap(double[] values, double missing) => map.Select(i => i < 0 ? missing : values[i]).ToArray();
        return new HistoryBlock
        {
            Start = Start, Names = names, Times = Times,
            Average = Average.Select(a => Remap(a, double.NaN)).ToList(), Max = Max.Select(a => Remap(a, double.NaN)).ToList(),
            OpenAt = OpenAt, OpenCount = OpenCount,
            OpenSum = OpenAt >= 0 ? Remap(OpenSum, 0) : [], OpenMax = OpenAt >= 0 ? Remap(OpenMax, double.NaN) : [],
        };
    }
}
