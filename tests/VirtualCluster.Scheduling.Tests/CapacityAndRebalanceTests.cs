using static VirtualCluster.Scheduling.Tests.PipelineKit;

namespace VirtualCluster.Scheduling.Tests;

public class CapacityAndRebalanceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_linear_trend_runs_out_exactly_where_the_line_meets_capacity()
    {
        // Memory grows 1 GiB per hour from 2 GiB on an 8 GiB node: 4 GiB at t = 2 h, full at t = 6 h.
        var samples = Enumerable.Range(0, 3).Select(h => new UtilizationSample(T0.AddHours(h), new Resources(4000, 8 * Gi, 0), new Resources(1000, (2 + h) * Gi, 0))).ToList();
        var forecasts = CapacityForecaster.Forecast(samples, TimeSpan.FromHours(6));
        var memory = forecasts.Single(f => f.Resource == "memory");
        Assert.Equal(4 * Gi, memory.Used);
        Assert.Equal(Gi, memory.TrendPerHour, 0);
        Assert.Equal(T0.AddHours(6), memory.ExhaustedAt);
        var cpu = forecasts.Single(f => f.Resource == "cpu");
        Assert.Equal(0, cpu.TrendPerHour);
        Assert.Null(cpu.ExhaustedAt);
    }

    [Fact]
    public void Least_squares_smooths_noise_and_the_window_drops_old_samples()
    {
        (DateTimeOffset, long)[] noisy = [(T0, 10), (T0.AddHours(1), 30), (T0.AddHours(2), 30), (T0.AddHours(3), 50)];
        var forecast = CapacityForecaster.Forecast("cpu", noisy, 100);
        // Fit: slope 12/h, intercept 12 → 48 at t = 3 h → reaches 100 after 52/12 h more.
        Assert.Equal(12, forecast.TrendPerHour, 6);
        Assert.Equal(48, forecast.Used);
        Assert.Equal(T0.AddHours(3 + 52 / 12.0), forecast.ExhaustedAt!.Value, TimeSpan.FromSeconds(1));
        var falling = CapacityForecaster.Forecast("cpu", [(T0, 50), (T0.AddHours(1), 40)], 100);
        Assert.Null(falling.ExhaustedAt);
        Assert.Null(CapacityForecaster.Forecast("cpu", [(T0, 50)], 100).ExhaustedAt);
        var full = CapacityForecaster.Forecast("cpu", [(T0, 90), (T0.AddHours(1), 110)], 100);
        Assert.Equal(T0.AddHours(1), full.ExhaustedAt);
        var windowed = CapacityForecaster.Forecast(
            [new(T0, new Resources(100, 100, 0), new Resources(90, 0, 0)), new(T0.AddHours(5), new Resources(100, 100, 0), new Resources(10, 0, 0)),
             new(T0.AddHours(6), new Resources(100, 100, 0), new Resources(20, 0, 0))], TimeSpan.FromHours(2));
        Assert.Equal(10, windowed.Single(f => f.Resource == "cpu").TrendPerHour, 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => CapacityForecaster.Forecast([], TimeSpan.Zero));
    }

    [Fact]
    public void Fits_are_counted_with_every_filter_and_leave_the_state_alone()
    {
        var scheduler = new PipelineScheduler();
        var state = scheduler.CreateState([Node("a"), Node("b", memory: 2 * Gi)]);
        Assert.Equal(8 + 2, scheduler.CountFits(state, Spec(cpu: 100, memory: Gi), 100));
        Assert.Equal(2, scheduler.CountFits(state, Spec(cpu: 100, memory: Gi, anti: AntiAffinityMode.Required), 100));
        Assert.Equal(5, scheduler.CountFits(state, Spec(cpu: 100, memory: Gi), 5));
        Assert.Equal(Resources.Zero, state.Allocated(0));
    }

    [Fact]
    public void A_new_empty_node_takes_instances_from_the_loaded_ones_within_the_budget()
    {
        var spec = Spec(cpu: 1000, memory: 2 * Gi, anti: AntiAffinityMode.None);
        var nodes = new[]
        {
            Node("a", allocated: new Resources(3000, 6 * Gi, 0), services: ["web", "web", "web"]),
            Node("b", allocated: new Resources(3000, 6 * Gi, 0), services: ["web", "web", "web"]),
            Node("new"),
        };
        var instances = Enumerable.Range(0, 6).Select(i => new PlacedInstance($"web-{i}", spec, i < 3 ? "id-a" : "id-b")).ToList();
        var plan = RebalancePlanner.Plan(new PipelineScheduler(), nodes, instances, maxMoves: 5);
        Assert.Equal(2, plan.Moves.Count); // 2, 2, 2 is perfectly balanced
        Assert.All(plan.Moves, m => Assert.Equal("new", m.ToNode));
        Assert.Equal(["a", "b"], plan.Moves.Select(m => m.FromNode).Order());
        Assert.True(plan.ImbalanceAfter < plan.ImbalanceBefore);
        Assert.Equal(0, plan.ImbalanceAfter, 6);
        Assert.Single(RebalancePlanner.Plan(new PipelineScheduler(), nodes, instances, maxMoves: 1).Moves);
        Assert.Empty(RebalancePlanner.Plan(new PipelineScheduler(), nodes, instances, maxMoves: 0).Moves);
    }

    [Fact]
    public void Moves_respect_constraints_and_anti_affinity()
    {
        var pinned = Spec(name: "pinned", cpu: 1000, memory: 2 * Gi, constraints: new() { ["zone"] = "a" });
        var spread = Spec(name: "spread", cpu: 1000, memory: 2 * Gi, anti: AntiAffinityMode.Required);
        var nodes = new[]
        {
            Node("a", allocated: new Resources(3000, 6 * Gi, 0), labels: Labels("zone=a"), services: ["pinned", "pinned", "spread"]),
            Node("b", labels: Labels("zone=b"), allocated: new Resources(1000, 2 * Gi, 0), services: ["spread"]),
            Node("c", labels: Labels("zone=b")),
        };
        PlacedInstance[] instances = [new("p1", pinned, "id-a"), new("p2", pinned, "id-a"), new("s1", spread, "id-a"), new("s2", spread, "id-b")];
        var plan = RebalancePlanner.Plan(new PipelineScheduler(), nodes, instances, maxMoves: 10);
        Assert.All(plan.Moves, m => Assert.Equal("spread", m.Service));
        Assert.Equal("c", Assert.Single(plan.Moves).ToNode);
        Assert.Contains("1 move(s)", plan.Summary);
        var balanced = RebalancePlanner.Plan(new PipelineScheduler(), [Node("x"), Node("y")], [], 5);
        Assert.Empty(balanced.Moves);
        Assert.Contains("nothing to move", balanced.Summary);
    }
}
