using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.ControlPlane;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.FailureDetection;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Scheduling;
using VirtualCluster.Simulator.Scenarios;

namespace VirtualCluster.Simulator.Engine;

/// <summary>
/// Runs the real control plane (<see cref="ClusterService"/> on <see cref="KvClusterStore"/> over an in-memory
/// key-value store, the production scheduler and failure detector) against simulated agents on virtual time.
/// </summary>
/// <remarks>
/// One thread, one queue: every simulated happening (a heartbeat, an instance start, a fault, a reconcile check, a
/// sample) is an entry ordered by (virtual time, sequence of scheduling), and every random draw comes from one
/// <see cref="Random"/> seeded from the scenario, taken in that order; the control plane's own ids and jitter come
/// from a second seeded one. Every control-plane call must complete synchronously (the store answers at once); one
/// that does not stops the run, since a continuation on another thread would make the order depend on timing.
/// </remarks>
internal sealed partial class Simulation
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly SimulationSettings _settings;
    private readonly FakeTimeProvider _time = new(Start);
    private readonly PriorityQueue<Action, (long Ticks, long Sequence)> _queue = new();
    private readonly Random _random;
    private readonly MemoryKeyValueStore _kv = new();
    private readonly ControlPlaneOptions _options;
    private readonly ClusterService _cluster;
    private readonly EventLog _log;
    private readonly List<SimAgent> _agents;
    private readonly Dictionary<string, SimAgent> _agentsByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimService> _active = new(StringComparer.Ordinal);
    private long _sequence;
    private DateTimeOffset _nextReconcile = Start;

    public Simulation(SimulationSettings settings, TextWriter? logWriter = null)
    {
        _settings = settings;
        _random = new Random(settings.Seed);
        var beat = settings.HeartbeatInterval;
        _options = new ControlPlaneOptions
        {
            DataDirectory = "(simulated)",
            HeartbeatInterval = beat,
            MaxHeartbeatsPerSecond = settings.MaxHeartbeatsPerSecond,
            FencingLease = Max(TimeSpan.FromSeconds(3), 6 * beat),
            FencingMargin = Max(TimeSpan.FromMilliseconds(500), beat),
            ReconcileInterval = settings.ReconcileInterval,
            FullReconcileInterval = settings.FullReconcileInterval,
            FailureCheckInterval = settings.CheckInterval,
            FailureDetector = new FailureDetectorOptions
            {
                FirstHeartbeatEstimate = beat,
                AcceptableHeartbeatPause = 3 * beat,
                MinStandardDeviation = Max(TimeSpan.FromMilliseconds(200), beat * 0.4),
                MaxSilence = Max(TimeSpan.FromSeconds(15), 8 * beat),
            },
        };
        var problems = new ControlPlaneOptionsValidator().Validate(null, _options);
        if (problems.Failed) throw new ArgumentException("heartbeatInterval gives control-plane settings that do not validate: " + problems.FailureMessage);
        var store = new KvClusterStore(_kv);
        _cluster = new ClusterService(store, new PipelineScheduler(), new NodeFailureDetector(_options.FailureDetector, _time), _time,
            Microsoft.Extensions.Options.Options.Create(_options), NullLogger<ClusterService>.Instance)
        {
            Randomness = new Random(unchecked(settings.Seed * 31 + 7)),
        };
        _log = new EventLog(Start, logWriter);
        _kv.Written = _log.OnWrite;
        _log.Observed = Observe;
        _agents = settings.Nodes.Select((n, i) => new SimAgent(n, i)).ToList();
        foreach (var agent in _agents) _agentsByName[agent.Node.Name] = agent;
    }

    /// <summary>For the checks' positive controls: agents that never stop singletons by themselves (a broken agent).</summary>
    internal bool AgentsIgnoreFencing { get; init; }

    /// <summary>For the checks' positive controls: changes the store behind the control plane's back at a time.</summary>
    internal void Tamper(TimeSpan at, Action<MemoryKeyValueStore> change) => At(at, () => change(_kv));

    private DateTimeOffset Now => _time.GetUtcNow();
    private TimeSpan Elapsed => Now - Start;

    /// <summary>Runs the scenario to its end and reports.</summary>
    public SimulationReport Run()
    {
        var wall = System.Diagnostics.Stopwatch.StartNew();
        foreach (var agent in _agents) At(TimeSpan.Zero, () => Join(agent));
        foreach (var service in _settings.Services)
        {
            At(service.At, () => Deploy(service));
            if (service.RemoveAt is { } removeAt) At(removeAt, () => Remove(service));
        }
        ScheduleFaults();
        At(TimeSpan.Zero, CheckReconcile);
        At(_settings.SampleInterval, Sample);
        At(PlacementCheckInterval, CheckPlacement);
        var end = _settings.Duration.Ticks;
        while (_queue.TryPeek(out _, out var when) && when.Ticks <= end)
        {
            var action = _queue.Dequeue();
            if (when.Ticks > Elapsed.Ticks) _time.SetUtcNow(Start + TimeSpan.FromTicks(when.Ticks));
            action();
        }
        _time.SetUtcNow(Start + _settings.Duration);
        Sample(); // also compares the store with memory
        _log.Finish();
        return BuildReport(wall.Elapsed);
    }

    /// <summary>Wall time spent per part of the run (not part of the log: it varies between runs).</summary>
    private readonly Dictionary<string, TimeSpan> _wallByPart = new(StringComparer.Ordinal);

    private void Timed(string part, long startTimestamp) =>
        _wallByPart[part] = _wallByPart.GetValueOrDefault(part) + System.Diagnostics.Stopwatch.GetElapsedTime(startTimestamp);

    /// <summary>Schedules <paramref name="action"/> at <paramref name="elapsed"/> from the start; equal times run in scheduling order.</summary>
    private void At(TimeSpan elapsed, Action action) => _queue.Enqueue(action, (elapsed.Ticks, _sequence++));

    private void After(TimeSpan delay, Action action) => At(Elapsed + delay, action);

    /// <summary>The reconciler's loop as the host runs it: a pass when one is due or asked for, else at the reconcile interval.</summary>
    private void CheckReconcile()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var due = Now >= _nextReconcile || _cluster.NeedsReconcile();
        Timed("reconcile checks", started);
        if (due)
        {
            started = System.Diagnostics.Stopwatch.GetTimestamp();
            Sync(_cluster.ReconcileOnceAsync(default));
            _nextReconcile = Now + _options.ReconcileInterval;
            Timed("reconcile passes", started);
        }
        After(_settings.CheckInterval, CheckReconcile);
    }

    /// <summary>Waits for a control-plane call that must already be complete (see the class remarks).</summary>
    private static T Sync<T>(Task<T> task)
    {
        if (!task.IsCompleted) throw new InvalidOperationException("A control-plane call did not complete synchronously; the simulation cannot stay deterministic.");
        return task.GetAwaiter().GetResult();
    }

    private static void Sync(Task task)
    {
        if (!task.IsCompleted) throw new InvalidOperationException("A control-plane call did not complete synchronously; the simulation cannot stay deterministic.");
        task.GetAwaiter().GetResult();
    }

    private static T Sync<T>(ValueTask<T> task)
    {
        if (!task.IsCompleted) throw new InvalidOperationException("A control-plane call did not complete synchronously; the simulation cannot stay deterministic.");
        return task.GetAwaiter().GetResult();
    }

    private TimeSpan Uniform(TimeSpan min, TimeSpan max) => min + TimeSpan.FromTicks((long)(_random.NextDouble() * (max - min).Ticks));

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
