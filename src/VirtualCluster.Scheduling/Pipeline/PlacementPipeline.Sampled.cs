namespace VirtualCluster.Scheduling;

public sealed partial class PlacementPipeline
{
    /// <summary>
    /// Selection over a share of the nodes (<see cref="SchedulerOptions.PercentageOfNodesToScore"/>): filters run over
    /// the static nodes in turn from where the previous sampled placement stopped, chunk by chunk, until enough
    /// feasible nodes are found or every node was looked at; only those are scored. Returns false (not handled) when
    /// the share covers every node anyway, so the exact path runs.
    /// </summary>
    /// <param name="found">Whether a node was chosen (false only when no node at all passes every filter).</param>
    private bool TrySelectSampled(PlacementContext context, out int node, out double score, out bool found)
    {
        var cluster = context.Cluster;
        var nodes = context.Entry.Nodes;
        var n = nodes.Length;
        var target = Math.Max(cluster.SampleMinimum, (int)Math.Ceiling(n * (cluster.SamplePercentage / 100.0)));
        (node, score, found) = (-1, 0, false);
        if (target >= n) return false;
        var buffer = cluster.ScratchNodes;
        var start = cluster.SampleStart % n;
        int collected = 0, visited = 0;
        while (collected < target && visited < n)
        {
            // A chunk of what is still missing (at least 32 nodes), wrapping around the end of the static nodes.
            var chunk = Math.Min(Math.Min(Math.Max(target - collected, 32), n - visited), n - (start + visited) % n);
            nodes.AsSpan((start + visited) % n, chunk).CopyTo(buffer.AsSpan(collected));
            var count = chunk;
            for (var f = 0; f < _dynamic.Length && count > 0; f++)
            {
                var filter = _dynamic[f];
                if (!filter.AppliesTo(context)) continue;
                var kept = filter.Filter(context, buffer.AsSpan(collected, count));
                if (!_dynamicIsOurs[f] && (kept < 0 || kept > count))
                    throw new InvalidOperationException($"filter \"{filter.Name}\" returned {kept} kept nodes out of {count}");
                if (!_dynamicIsOurs[f]) CheckIndexes(filter, buffer, collected + kept, collected + count, cluster.Count);
                count = kept;
            }
            collected += count;
            visited += chunk;
        }
        cluster.SampleStart = (start + visited) % n;
        if (collected == 0) return true;
        var totals = cluster.ScratchTotals.AsSpan(0, collected);
        var weights = Score(context, buffer.AsSpan(0, collected), totals);
        // Highest score; equal scores go to the node that sorts first, as in the full scan.
        var best = 0;
        for (var k = 1; k < collected; k++)
            if (totals[k] > totals[best] || (totals[k] == totals[best] && buffer[k] < buffer[best])) best = k;
        (node, score, found) = (buffer[best], weights > 0 ? totals[best] / weights : 0, true);
        return true;
    }
}
