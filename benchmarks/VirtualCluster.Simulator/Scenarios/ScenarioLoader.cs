using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using VirtualCluster.Api;

namespace VirtualCluster.Simulator.Scenarios;

/// <summary>Reads a scenario file and checks every field; problems are named by their path with what to write instead.</summary>
internal static class ScenarioLoader
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The settings, or the list of problems (never both).</summary>
    public static (SimulationSettings? Settings, IReadOnlyList<string> Errors) Load(string json, int? seed = null)
    {
        Scenario? scenario;
        try
        {
            scenario = JsonSerializer.Deserialize<Scenario>(json, Json);
        }
        catch (JsonException e)
        {
            return (null, [$"the scenario is not valid JSON of the expected shape: {e.Message}"]);
        }
        if (scenario is null) return (null, ["the scenario is empty: write an object with duration, nodes and services"]);
        var errors = new List<string>();
        var check = new Checker(errors);
        var duration = check.Duration("duration", scenario.Duration ?? "", min: TimeSpan.FromSeconds(1));
        var heartbeat = check.Duration("heartbeatInterval", scenario.HeartbeatInterval, min: TimeSpan.FromMilliseconds(100));
        var reconcile = check.Duration("reconcileInterval", scenario.ReconcileInterval, min: TimeSpan.FromMilliseconds(100));
        var fullReconcile = scenario.FullReconcileInterval is { } full
            ? check.Duration("fullReconcileInterval", full, min: TimeSpan.FromMilliseconds(100))
            : reconcile > TimeSpan.FromSeconds(30) ? reconcile : TimeSpan.FromSeconds(30);
        if (fullReconcile < reconcile || fullReconcile > TimeSpan.FromHours(1))
            errors.Add("fullReconcileInterval: at least reconcileInterval and at most 1h, e.g. \"10m\"");
        var checkInterval = check.Duration("checkInterval", scenario.CheckInterval, min: TimeSpan.FromMilliseconds(10));
        if (checkInterval > reconcile) errors.Add("checkInterval: must not be longer than reconcileInterval");
        var sample = check.Duration("sampleInterval", scenario.SampleInterval, min: TimeSpan.FromSeconds(1));
        var grace = check.Duration("placementGrace", scenario.PlacementGrace, min: TimeSpan.Zero);
        var nodes = ReadNodes(scenario.Nodes, check);
        var services = ReadServices(scenario.Services, check);
        var a = scenario.Agents ?? new AgentBehaviour();
        var agents = new AgentSettings(check.Duration("agents.startDelayMin", a.StartDelayMin, TimeSpan.Zero), check.Duration("agents.startDelayMax", a.StartDelayMax, TimeSpan.Zero),
            a.UsageMin, a.UsageMax, check.Duration("agents.heartbeatJitter", a.HeartbeatJitter, TimeSpan.Zero));
        if (agents.StartDelayMax < agents.StartDelayMin) errors.Add("agents.startDelayMax: must not be below agents.startDelayMin");
        if (a.UsageMin is < 0 or > 1 || a.UsageMax is < 0 or > 1 || a.UsageMax < a.UsageMin)
            errors.Add("agents.usageMin, agents.usageMax: shares between 0 and 1 with usageMin <= usageMax, e.g. 0.2 and 0.9");
        if (!double.IsFinite(scenario.MaxHeartbeatsPerSecond) || scenario.MaxHeartbeatsPerSecond is < 1 or > 1_000_000)
            errors.Add("maxHeartbeatsPerSecond: a number from 1 to 1000000, e.g. 1000 (the default) or 50 (Nomad's)");
        var faults = ReadFaults(scenario.Faults ?? new FaultPlan(), nodes, check);
        if (errors.Count > 0) return (null, errors);
        return (new SimulationSettings(scenario.Name, duration, seed ?? scenario.Seed, heartbeat, reconcile, checkInterval, sample, grace, nodes, services, agents, faults)
        {
            MaxHeartbeatsPerSecond = scenario.MaxHeartbeatsPerSecond,
            FullReconcileInterval = fullReconcile,
        }, []);
    }

    private static List<SimNode> ReadNodes(List<NodeGroup>? groups, Checker check)
    {
        var nodes = new List<SimNode>();
        if (groups is not { Count: > 0 })
        {
            check.Errors.Add("nodes: list at least one group, e.g. [{\"count\": 100, \"cpu\": \"8\", \"memory\": \"32Gi\"}]");
            return nodes;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            var at = $"nodes[{g}]";
            if (group.Count is < 1 or > 100_000) check.Errors.Add($"{at}.count: a whole number from 1 to 100000");
            if (!Quantity.TryParseCpu(group.Cpu, out var cpu) || cpu <= 0) check.Errors.Add($"{at}.cpu: a cpu quantity such as \"8\" or \"500m\"");
            if (!Quantity.TryParseBytes(group.Memory, out var memory) || memory <= 0) check.Errors.Add($"{at}.memory: a size such as \"32Gi\"");
            if (!Quantity.TryParseBytes(group.Disk, out var disk) || disk < 0) check.Errors.Add($"{at}.disk: a size such as \"200Gi\"");
            if (!PortRange.TryParse(group.Ports, out var ports)) check.Errors.Add($"{at}.ports: a range such as \"20000-20999\"");
            if (string.IsNullOrEmpty(group.Prefix) || group.Prefix.Length > 40) check.Errors.Add($"{at}.prefix: 1 to 40 characters, e.g. \"node-\"");
            if (check.Errors.Count > 0) continue;
            var width = Math.Max(3, (group.Count - 1).ToString(CultureInfo.InvariantCulture).Length);
            for (var i = 0; i < group.Count; i++)
            {
                var name = group.Prefix + i.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0');
                if (!names.Add(name)) check.Errors.Add($"{at}.prefix: node name {name} is also made by an earlier group; give each group its own prefix");
                nodes.Add(new SimNode(name, new Resources(cpu, memory, disk), ports, group.Labels));
            }
        }
        return nodes;
    }

    private static List<SimService> ReadServices(List<ServiceGroup>? groups, Checker check)
    {
        var services = new List<SimService>();
        if (groups is not { Count: > 0 })
        {
            check.Errors.Add("services: list at least one group, e.g. [{\"count\": 10, \"spec\": {\"name\": \"web\", \"command\": \"app\", \"replicas\": 3}}]");
            return services;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            var at = $"services[{g}]";
            if (group.Count is < 1 or > 100_000) check.Errors.Add($"{at}.count: a whole number from 1 to 100000");
            var deployAt = check.Duration($"{at}.at", group.At, TimeSpan.Zero);
            TimeSpan? removeAt = group.RemoveAt is null ? null : check.Duration($"{at}.removeAt", group.RemoveAt, TimeSpan.Zero);
            if (removeAt <= deployAt) check.Errors.Add($"{at}.removeAt: must come after {at}.at");
            if (group.Spec.ValueKind != JsonValueKind.Object || JsonNode.Parse(group.Spec.GetRawText()) is not JsonObject template)
            {
                check.Errors.Add($"{at}.spec: a service spec object, e.g. {{\"name\": \"web\", \"command\": \"app\", \"replicas\": 3}}");
                continue;
            }
            var baseName = template["name"]?.GetValueKind() == JsonValueKind.String ? template["name"]!.GetValue<string>() : "";
            for (var i = 0; i < Math.Max(1, group.Count); i++)
            {
                var copy = (JsonObject)template.DeepClone();
                copy["name"] = group.Count > 1 ? $"{baseName}-{i + 1}" : baseName;
                var json = copy.ToJsonString();
                var parsed = ServiceSpecParser.Parse(json);
                if (!parsed.Succeeded || parsed.Spec is null)
                {
                    foreach (var e in parsed.Errors) check.Errors.Add($"{at}.spec.{e.Field}: {e.Message}");
                    break;
                }
                if (!names.Add(parsed.Spec.Name)) check.Errors.Add($"{at}.spec.name: service {parsed.Spec.Name} is also made by an earlier group; names must differ");
                services.Add(new SimService(json, parsed.Spec, deployAt, removeAt));
            }
        }
        return services;
    }

    private static FaultSettings ReadFaults(FaultPlan plan, List<SimNode> nodes, Checker check)
    {
        foreach (var (name, rate) in new[] { ("crashesPerHour", plan.CrashesPerHour), ("pausesPerHour", plan.PausesPerHour),
                     ("partitionsPerHour", plan.PartitionsPerHour), ("instanceFailuresPerHour", plan.InstanceFailuresPerHour) })
        {
            if (rate is < 0 or > 100_000 || double.IsNaN(rate)) check.Errors.Add($"faults.{name}: a rate from 0 to 100000 per hour");
        }
        if (plan.PartitionSize < 1) check.Errors.Add("faults.partitionSize: at least 1 node");
        var min = check.Duration("faults.downtimeMin", plan.DowntimeMin, TimeSpan.Zero);
        var max = check.Duration("faults.downtimeMax", plan.DowntimeMax, TimeSpan.Zero);
        if (max < min) check.Errors.Add("faults.downtimeMax: must not be below faults.downtimeMin");
        var known = nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var schedule = new List<FaultSpec>();
        for (var i = 0; i < (plan.Schedule?.Count ?? 0); i++)
        {
            var f = plan.Schedule![i];
            var at = $"faults.schedule[{i}]";
            var when = check.Duration($"{at}.at", f.At ?? "", TimeSpan.Zero);
            var length = check.Duration($"{at}.for", f.For, TimeSpan.Zero);
            if (!Enum.TryParse<FaultKind>(f.Kind, ignoreCase: true, out var kind) || int.TryParse(f.Kind, out _))
                check.Errors.Add($"{at}.kind: \"crash\", \"pause\" or \"partition\"");
            if (f.Nodes is not { Count: > 0 }) check.Errors.Add($"{at}.nodes: list the names of the nodes hit, e.g. [\"node-005\"]");
            else
                foreach (var unknown in f.Nodes.Where(n => !known.Contains(n)))
                    check.Errors.Add($"{at}.nodes: no node is named \"{unknown}\"; names are a group's prefix and a zero-padded index, e.g. \"{nodes.FirstOrDefault()?.Name}\"");
            schedule.Add(new FaultSpec(when, kind, f.Nodes ?? [], length));
        }
        return new FaultSettings(plan.CrashesPerHour, plan.PausesPerHour, plan.PartitionsPerHour, plan.InstanceFailuresPerHour, plan.PartitionSize, min, max, schedule);
    }

    private sealed class Checker(List<string> errors)
    {
        public List<string> Errors => errors;

        public TimeSpan Duration(string field, string text, TimeSpan min)
        {
            if (TryParseDuration(text, out var value) && value >= min) return value;
            errors.Add($"{field}: a duration such as \"500ms\", \"30s\", \"5m\" or \"24h\"{(min > TimeSpan.Zero ? $", at least {min.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms" : "")} (got \"{text}\")");
            return min;
        }
    }

    /// <summary>"500ms", "30s", "1.5m", "24h".</summary>
    public static bool TryParseDuration(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrEmpty(text)) return false;
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1.0)
            : text.EndsWith('s') ? (text[..^1], 1_000.0)
            : text.EndsWith('m') ? (text[..^1], 60_000.0)
            : text.EndsWith('h') ? (text[..^1], 3_600_000.0)
            : ("", 0.0);
        if (number.Length is 0 or > 12 || !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)) return false;
        value = TimeSpan.FromMilliseconds(Math.Round(amount * unit));
        return true;
    }
}
