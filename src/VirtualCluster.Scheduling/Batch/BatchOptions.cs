namespace VirtualCluster.Scheduling;

/// <summary>Settings of a batch placement.</summary>
public sealed class BatchOptions
{
    /// <summary>
    /// Time the improvement phase of <see cref="BatchAlgorithm.Best"/> may spend after the three greedy passes, trying
    /// to empty nodes: minimum-slack re-packings, then a tabu search that closes the least-loaded node and re-packs its
    /// instances with swaps, then single moves. Default 100 ms; zero skips it. It stops earlier when no node is left to try.
    /// </summary>
    public TimeSpan ImprovementBudget { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Seed of the improvement phase's tie-breaks: the same input, seed and number of steps give the same layout.
    /// Default 1. (How many steps fit in the budget depends on the machine, so a run on a clock that moves can differ.)
    /// </summary>
    public int Seed { get; set; } = 1;

    /// <summary>Clock of the budget. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Every problem with these settings, each naming the property and the fix; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ImprovementBudget < TimeSpan.Zero || ImprovementBudget > TimeSpan.FromMinutes(10))
            errors.Add($"ImprovementBudget is {ImprovementBudget}; set it between 0 and 10 minutes.");
        if (TimeProvider is null) errors.Add("TimeProvider is null; leave it at TimeProvider.System or pass a clock.");
        return errors;
    }
}
