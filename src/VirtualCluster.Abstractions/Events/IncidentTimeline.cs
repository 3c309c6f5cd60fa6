namespace VirtualCluster;

/// <summary>One replacement made during an incident: when it was placed, started and became healthy.</summary>
/// <param name="Service">Service of the replacement.</param>
/// <param name="Instance">Id of the replacement.</param>
/// <param name="Node">Node it was placed on, when the event names it.</param>
/// <param name="PlacedAt">When the control plane placed it.</param>
/// <param name="StartedAt">When its agent first reported it starting (or running), if it did.</param>
/// <param name="HealthyAt">When it was first reported running and healthy, if it was.</param>
public sealed record IncidentRecovery(string Service, string Instance, string? Node, DateTimeOffset PlacedAt, DateTimeOffset? StartedAt, DateTimeOffset? HealthyAt);

/// <summary>A failover incident: what was detected, and each replacement's way back to healthy.</summary>
/// <param name="Id">Incident id, shared by all its events.</param>
/// <param name="Cause">Kind of the detection event, e.g. "node.down" or "instance.failed".</param>
/// <param name="Subject">What failed: a node name, or a service for a failed instance.</param>
/// <param name="Message">The detection event's sentence.</param>
/// <param name="DetectedAt">When the failure was detected.</param>
/// <param name="Recoveries">Replacements, in the order they were placed.</param>
public sealed record Incident(string Id, string Cause, string Subject, string Message, DateTimeOffset DetectedAt, IReadOnlyList<IncidentRecovery> Recoveries)
{
    /// <summary>When the last replacement became healthy, once all of them are; null while any is not.</summary>
    public DateTimeOffset? RecoveredAt =>
        Recoveries.Count > 0 && Recoveries.All(r => r.HealthyAt is not null) ? Recoveries.Max(r => r.HealthyAt) : null;
}

/// <summary>Builds failover timelines (detected → placed → started → healthy) from the event log.</summary>
public static class IncidentTimeline
{
    /// <summary>
    /// Groups events by <see cref="ClusterEvent.Incident"/> (events without one are ignored). The first event of
    /// each group is its detection; each <see cref="EventKinds.InstancePlaced"/> starts a recovery, which later
    /// "instance.starting" / "instance.running" events of the same instance complete.
    /// </summary>
    /// <param name="events">Events in any order; they are sorted by sequence.</param>
    /// <returns>Incidents, oldest first.</returns>
    public static IReadOnlyList<Incident> Build(IEnumerable<ClusterEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var incidents = new List<Incident>();
        foreach (var group in events.Where(e => e?.Incident is not null).GroupBy(e => e.Incident!, StringComparer.Ordinal))
        {
            var ordered = group.OrderBy(e => e.Sequence).ToList();
            var detection = ordered[0];
            var recoveries = new List<IncidentRecovery>();
            foreach (var placed in ordered.Where(e => e.Kind == EventKinds.InstancePlaced && e.Instance is not null))
            {
                var later = ordered.Where(e => e.Instance == placed.Instance && e.Sequence > placed.Sequence).ToList();
                var started = later.FirstOrDefault(e => e.Kind is EventKinds.InstanceStarting or EventKinds.InstanceRunning or "instance.unhealthy");
                var healthy = later.FirstOrDefault(e => e.Kind == EventKinds.InstanceRunning);
                recoveries.Add(new IncidentRecovery(placed.Service ?? placed.Subject, placed.Instance!, placed.Node,
                    placed.Timestamp, started?.Timestamp, healthy?.Timestamp));
            }
            incidents.Add(new Incident(group.Key, detection.Kind, detection.Node ?? detection.Service ?? detection.Subject,
                detection.Message, detection.Timestamp, recoveries));
        }
        return incidents.OrderBy(i => i.DetectedAt).ToList();
    }
}
