using VirtualCluster.Simulator.Scenarios;

namespace VirtualCluster.Simulator.Engine;

// The workload (deploys and removals) and faults: crashes, pauses, partitions, failing instances.
internal sealed partial class Simulation
{
    private void Deploy(SimService service)
    {
        var outcome = Sync(_cluster.DeployAsync(service.Json, default));
        if (outcome.StatusCode is 201 or 200) _active[service.Spec.Name] = service;
        _log.Sim(Elapsed, "sim.deploy", outcome.StatusCode is 201 or 200
            ? $"{service.Spec.Name}: {service.Spec.Replicas} replica(s) deployed"
            : $"{service.Spec.Name}: refused with {outcome.StatusCode}: {outcome.Error?.Error}");
    }

    private void Remove(SimService service)
    {
        var removed = Sync(_cluster.RemoveAsync(service.Spec.Name, default));
        _active.Remove(service.Spec.Name);
        _placementShort.Remove(service.Spec.Name);
        _log.Sim(Elapsed, "sim.remove", $"{service.Spec.Name}: {(removed ? "removed" : "was not deployed")}");
    }

    private void ScheduleFaults()
    {
        var faults = _settings.Faults;
        foreach (var f in faults.Schedule) At(f.At, () => Hit(f.Kind, f.Nodes.Select(n => _agentsByName[n]).ToList(), f.For));
        NextRandomFault(FaultKind.Crash, faults.CrashesPerHour);
        NextRandomFault(FaultKind.Pause, faults.PausesPerHour);
        NextRandomFault(FaultKind.Partition, faults.PartitionsPerHour);
        NextInstanceFailure();
    }

    /// <summary>Exponential gaps: a Poisson process of <paramref name="perHour"/> faults an hour over the whole cluster.</summary>
    private TimeSpan Gap(double perHour) => TimeSpan.FromHours(-Math.Log(1 - _random.NextDouble()) / perHour);

    private void NextRandomFault(FaultKind kind, double perHour)
    {
        if (perHour <= 0) return;
        After(Gap(perHour), () =>
        {
            var count = kind == FaultKind.Partition ? Math.Min(_settings.Faults.PartitionSize, _agents.Count) : 1;
            var first = _random.Next(_agents.Count);
            // A partition cuts off neighbours (as a rack or a zone would): consecutive nodes from a random one.
            var hit = Enumerable.Range(0, count).Select(i => _agents[(first + i) % _agents.Count]).ToList();
            Hit(kind, hit, Uniform(_settings.Faults.DowntimeMin, _settings.Faults.DowntimeMax));
            NextRandomFault(kind, perHour);
        });
    }

    private void Hit(FaultKind kind, IReadOnlyList<SimAgent> agents, TimeSpan length)
    {
        var hit = agents.Where(a => a.Status == AgentStatus.Up).ToList();
        if (hit.Count == 0) return; // every one of them is already down: nothing more to break
        var names = string.Join(", ", hit.Select(a => a.Node.Name));
        _log.Sim(Elapsed, "sim." + kind.ToString().ToLowerInvariant(), $"{names} for {Words(length)}");
        foreach (var agent in hit)
        {
            agent.LastFault = (Elapsed, kind);
            _faults.Add(new FaultRecord(agent.Node.Name, kind, Elapsed, length));
            switch (kind)
            {
                case FaultKind.Crash:
                    agent.Status = AgentStatus.Crashed;
                    agent.Life++;
                    LoseEverything(agent);
                    break;
                case FaultKind.Pause:
                    agent.Status = AgentStatus.Paused;
                    break;
                case FaultKind.Partition:
                    agent.Status = AgentStatus.Partitioned;
                    break;
            }
        }
        After(length, () => Return(kind, hit));
    }

    private void Return(FaultKind kind, IReadOnlyList<SimAgent> agents)
    {
        _log.Sim(Elapsed, "sim.return", $"{string.Join(", ", agents.Select(a => a.Node.Name))} back after a {kind.ToString().ToLowerInvariant()}");
        foreach (var agent in agents)
        {
            if (kind == FaultKind.Crash)
            {
                Join(agent); // a restarted machine: the agent joins again by name and starts with nothing
                continue;
            }
            // Its heartbeat loop kept trying meanwhile; the next attempt, within one interval, gets through.
            agent.Status = AgentStatus.Up;
        }
    }

    private void NextInstanceFailure()
    {
        var perHour = _settings.Faults.InstanceFailuresPerHour;
        if (perHour <= 0) return;
        After(Gap(perHour), () =>
        {
            var agent = _agents[_random.Next(_agents.Count)];
            var running = agent.Instances.Values.Where(i => i.State == InstanceState.Running).ToList();
            if (running.Count > 0)
            {
                var instance = running[_random.Next(running.Count)];
                instance.State = InstanceState.Failed;
                instance.Reason = "exited with code 1";
                _runningCopies[instance.Spec.Name]--;
                _log.Sim(Elapsed, "sim.exit", $"{instance.Id} on {agent.Node.Name} exited with code 1");
            }
            NextInstanceFailure();
        });
    }

    internal static string Words(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{span.TotalHours:0.##} h" : span.TotalMinutes >= 1 ? $"{span.TotalMinutes:0.##} min" : $"{span.TotalSeconds:0.###} s";
}
