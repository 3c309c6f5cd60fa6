using VirtualCluster.Api;

namespace VirtualCluster.Simulator.Engine;

// Simulated agents: join, heartbeats with instance reports, starts after a delay, stops, self-fencing.
internal sealed partial class Simulation
{
    private static readonly string[] Drivers = ["process"];

    /// <summary>Copies of each service in state Running on any agent (a singleton must never have two).</summary>
    private readonly Dictionary<string, int> _runningCopies = new(StringComparer.Ordinal);
    private long _heartbeats;

    private void Join(SimAgent agent)
    {
        var node = agent.Node;
        var outcome = Sync(_cluster.JoinAsync(new JoinRequest("simulated", node.Name, $"10.0.{agent.Index / 250}.{agent.Index % 250 + 1}",
            node.Capacity, Drivers, node.Ports, node.Labels), default));
        if (outcome.StatusCode != 200) throw new InvalidOperationException($"node {node.Name} could not join: {outcome.Error?.Error}");
        agent.NodeId = outcome.Value!.Id;
        agent.Status = AgentStatus.Up;
        var life = agent.Life;
        // The first heartbeat of a fresh start comes at a random point of the interval, so agents do not beat in step.
        After(Uniform(TimeSpan.Zero, _settings.HeartbeatInterval), () => Heartbeat(agent, life));
    }

    private void Heartbeat(SimAgent agent, long life)
    {
        if (agent.Life != life || agent.Status == AgentStatus.Crashed) return;
        var next = _settings.HeartbeatInterval;
        if (agent.Status == AgentStatus.Up)
        {
            var sentAt = Now;
            var reports = new List<InstanceReport>(agent.Instances.Count);
            long cpu = 0, memory = 0;
            foreach (var i in agent.Instances.Values)
            {
                reports.Add(new InstanceReport(i.Id, i.Epoch, i.State, i.Reason, 0, null, []));
                if (i.State != InstanceState.Running) continue;
                cpu += (long)(i.Spec.Resources.CpuMillicores * i.Usage);
                memory += (long)(i.Spec.Resources.MemoryBytes * i.Usage);
            }
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var outcome = Sync(_cluster.HeartbeatAsync(agent.NodeId!, new HeartbeatRequest(new ResourceUsage(cpu, memory, 0), agent.Node.Capacity, Drivers, reports), default));
            Timed("heartbeats", started);
            _heartbeats++;
            if (outcome.StatusCode == 404)
            {
                Join(agent);
                return;
            }
            if (outcome.StatusCode != 200) throw new InvalidOperationException($"heartbeat of {agent.Node.Name} refused ({outcome.StatusCode}): {outcome.Error?.Error}");
            var answer = outcome.Value!;
            Apply(agent, answer.Assignments);
            if (answer.FencingLease > TimeSpan.Zero)
            {
                var renewal = ++agent.LeaseRenewals;
                At(sentAt - Start + answer.FencingLease, () => LeaseRunsOut(agent, life, renewal));
            }
            next = answer.HeartbeatInterval;
        }
        // A paused or cut-off agent gets no answer; it tries again at its interval.
        After(next + Uniform(TimeSpan.Zero, _settings.Agents.HeartbeatJitter), () => Heartbeat(agent, life));
    }

    /// <summary>The answer is the full desired set: stop what is not in it, start what is new.</summary>
    private void Apply(SimAgent agent, IReadOnlyList<Assignment> assignments)
    {
        var wanted = new Dictionary<string, long>(assignments.Count, StringComparer.Ordinal);
        foreach (var a in assignments) wanted[a.InstanceId] = a.Epoch;
        List<string>? stop = null;
        foreach (var (id, instance) in agent.Instances)
            if (!wanted.TryGetValue(id, out var epoch) || epoch != instance.Epoch) (stop ??= []).Add(id);
        if (stop is not null) foreach (var id in stop) StopInstance(agent, id);
        foreach (var a in assignments)
        {
            if (agent.Instances.ContainsKey(a.InstanceId)) continue;
            var usage = _settings.Agents.UsageMin + _random.NextDouble() * (_settings.Agents.UsageMax - _settings.Agents.UsageMin);
            var instance = new SimInstance(a.InstanceId, a.Epoch, a.Spec, a.Ports, usage);
            agent.Instances[a.InstanceId] = instance;
            agent.Held += a.Spec.Resources;
            CheckHeld(agent);
            var life = agent.Life;
            After(Uniform(_settings.Agents.StartDelayMin, _settings.Agents.StartDelayMax), () => Started(agent, life, instance));
        }
    }

    private void Started(SimAgent agent, long life, SimInstance instance)
    {
        if (agent.Life != life || instance.State != InstanceState.Starting || !ReferenceEquals(agent.Instances.GetValueOrDefault(instance.Id), instance)) return;
        instance.State = InstanceState.Running;
        Checked(SingletonOnce);
        var copies = _runningCopies[instance.Spec.Name] = _runningCopies.GetValueOrDefault(instance.Spec.Name) + 1;
        if (copies > 1 && instance.Spec.IsFencedSingleton)
            Violation("singleton-once", $"{instance.Spec.Name} runs {copies} copies (the latest {instance.Id} on {agent.Node.Name})");
    }

    private void StopInstance(SimAgent agent, string id)
    {
        if (!agent.Instances.Remove(id, out var instance)) return;
        agent.Held -= instance.Spec.Resources;
        if (instance.State == InstanceState.Running) _runningCopies[instance.Spec.Name]--;
    }

    /// <summary>No successful answer since the one that set this lease: the agent stops its singletons by itself.</summary>
    private void LeaseRunsOut(SimAgent agent, long life, long renewal)
    {
        if (agent.Life != life || agent.LeaseRenewals != renewal || AgentsIgnoreFencing) return;
        var fenced = agent.Instances.Values.Where(i => i.Spec.IsFencedSingleton).Select(i => i.Id).ToList();
        foreach (var id in fenced) StopInstance(agent, id);
        if (fenced.Count > 0) _log.Sim(Elapsed, "sim.fenced", $"{agent.Node.Name} stopped {string.Join(", ", fenced)}: its fencing lease ran out");
    }

    /// <summary>Capacity invariant on the node itself: what the agent was told to run fits the machine.</summary>
    private void CheckHeld(SimAgent agent)
    {
        Checked(Capacity);
        var held = agent.Held;
        var cap = agent.Node.Capacity;
        if (held.CpuMillicores > cap.CpuMillicores || held.MemoryBytes > cap.MemoryBytes || held.DiskBytes > cap.DiskBytes || held.Gpus > cap.Gpus)
            Violation("capacity", $"{agent.Node.Name} was given {held} on a capacity of {cap}");
    }

    /// <summary>Everything on the machine is gone: counted out of the running copies.</summary>
    private void LoseEverything(SimAgent agent)
    {
        foreach (var id in agent.Instances.Keys.ToList()) StopInstance(agent, id);
        agent.Held = default;
    }
}
