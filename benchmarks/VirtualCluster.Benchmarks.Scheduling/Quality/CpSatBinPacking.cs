using System.Diagnostics;
using Google.OrTools.Sat;

namespace VirtualCluster.Benchmarks.Scheduling.Quality;

/// <summary>Exact two-dimensional bin packing with OR-Tools CP-SAT, time-limited.</summary>
internal static class CpSatBinPacking
{
    /// <summary>Result: bins in the best solution found, the proven lower bound, whether it is optimal, and the time spent.</summary>
    public sealed record Result(int Bins, int Bound, bool Optimal, TimeSpan Time);

    /// <param name="items">Item sizes.</param>
    /// <param name="capacity">Bin capacity per dimension.</param>
    /// <param name="upperBound">Bins of a known solution (ours): the model has that many bins.</param>
    /// <param name="lowerBound">A known lower bound, added as a constraint.</param>
    /// <param name="timeLimit">Wall-clock limit of the solve.</param>
    public static Result Solve(IReadOnlyList<(int Cpu, int Memory)> items, int capacity, int upperBound, int lowerBound, TimeSpan timeLimit)
    {
        var watch = Stopwatch.StartNew();
        // Largest first, so "item i goes to a bin ≤ i" breaks symmetry without cutting off optima.
        var sorted = items.OrderByDescending(i => Math.Max(i.Cpu, i.Memory)).ToList();
        var n = sorted.Count;
        var bins = upperBound;
        var model = new CpModel();
        var x = new BoolVar?[n, bins];
        var used = new BoolVar[bins];
        for (var b = 0; b < bins; b++) used[b] = model.NewBoolVar($"y{b}");
        for (var i = 0; i < n; i++)
        {
            var choices = new List<ILiteral>();
            for (var b = 0; b <= Math.Min(i, bins - 1); b++)
            {
                x[i, b] = model.NewBoolVar($"x{i}_{b}");
                choices.Add(x[i, b]!);
            }
            model.AddExactlyOne(choices);
        }
        for (var b = 0; b < bins; b++)
        {
            var cpu = new List<LinearExpr>();
            var memory = new List<LinearExpr>();
            for (var i = b; i < n; i++)
            {
                if (x[i, b] is not { } v) continue;
                cpu.Add(v * sorted[i].Cpu);
                memory.Add(v * sorted[i].Memory);
                model.AddImplication(v, used[b]);
            }
            model.Add(LinearExpr.Sum(cpu) <= LinearExpr.Term(used[b], capacity));
            model.Add(LinearExpr.Sum(memory) <= LinearExpr.Term(used[b], capacity));
            if (b > 0) model.AddImplication(used[b], used[b - 1]);
        }
        model.Add(LinearExpr.Sum(used) >= lowerBound);
        model.Minimize(LinearExpr.Sum(used));
        var solver = new CpSolver { StringParameters = $"max_time_in_seconds:{timeLimit.TotalSeconds:0.###},num_workers:2,random_seed:1" };
        var status = solver.Solve(model);
        watch.Stop();
        var found = status is CpSolverStatus.Optimal or CpSolverStatus.Feasible ? (int)solver.ObjectiveValue : upperBound;
        return new Result(found, Math.Max(lowerBound, (int)Math.Ceiling(solver.BestObjectiveBound - 1e-6)), status == CpSolverStatus.Optimal, watch.Elapsed);
    }
}
