using static VirtualCluster.ControlPlane.Tests.Store.StoreTestData;

namespace VirtualCluster.ControlPlane.Tests.Store;

// Event queries: every store must filter exactly like EventQuery.Matches.
public abstract partial class ClusterStoreContractTests
{
    private async Task<List<ClusterEvent>> AppendSampleEventsAsync()
    {
        var events = new List<ClusterEvent>
        {
            new(0, Time, "service.deployed", "web", "deployed", Service: "web"),
            new(0, Time.AddSeconds(1), "node.down", "node-1", "down", Node: "node-1", Incident: "inc-1"),
            new(0, Time.AddSeconds(2), "instance.lost", "web", "lost", "web", "node-1", "web-a", "inc-1"),
            new(0, Time.AddSeconds(3), "instance.placed", "web", "placed", "web", "node-2", "web-b", "inc-1"),
            new(0, Time.AddSeconds(4), "instance.running", "api", "running", "api", "node-2", "api-a"),
            new(0, Time.AddSeconds(5), "node.downgrade", "node-2", "not a node.down event", Node: "node-2"),
            new(0, Time.AddSeconds(6), "service.removed", "web", "an event stored without the service column"),
        };
        var stored = new List<ClusterEvent>();
        foreach (var e in events) stored.Add(await Store.AppendEventAsync(e));
        return stored;
    }

    public static TheoryData<string> Queries => new()
    {
        "kind=node", "kind=node.down", "kind=instance", "kind=no", "service=web", "service=api", "node=node-1", "node=node-2",
        "incident=inc-1", "since=3", "service=web,kind=instance", "node=node-2,since=4", "after=2", "limit=2", "after=1,limit=1,service=web",
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task Event_queries_filter_like_EventQuery_Matches(string spec)
    {
        var stored = await AppendSampleEventsAsync();
        var query = new EventQuery();
        foreach (var part in spec.Split(','))
        {
            var (key, value) = (part.Split('=')[0], part.Split('=')[1]);
            query = key switch
            {
                "kind" => query with { Kind = value },
                "service" => query with { Service = value },
                "node" => query with { Node = value },
                "incident" => query with { Incident = value },
                "since" => query with { Since = Time.AddSeconds(int.Parse(value)) },
                "after" => query with { AfterSequence = stored[int.Parse(value) - 1].Sequence },
                "limit" => query with { Limit = int.Parse(value) },
                _ => throw new ArgumentException(key),
            };
        }

        var expected = stored.Where(e => e.Sequence > query.AfterSequence && query.Matches(e)).Take(query.Limit).ToList();
        var actual = await Store.QueryEventsAsync(query);

        Assert.Equal(expected.Select(e => e.Sequence), actual.Select(e => e.Sequence));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Since_compares_instants_whatever_the_offsets()
    {
        var utc = Time.ToUniversalTime();
        await Store.AppendEventAsync(new ClusterEvent(0, utc.AddMilliseconds(-1), "a.b", "s", "before"));
        var at = await Store.AppendEventAsync(new ClusterEvent(0, utc.ToOffset(TimeSpan.FromHours(-5)), "a.b", "s", "at"));
        var after = await Store.AppendEventAsync(new ClusterEvent(0, utc.AddMilliseconds(5).ToOffset(TimeSpan.FromHours(9)), "a.b", "s", "after"));

        Assert.Equal([at.Sequence, after.Sequence], (await Store.QueryEventsAsync(new EventQuery { Since = Time })).Select(e => e.Sequence));
    }

    [Fact]
    public async Task Event_fields_round_trip()
    {
        var e = await Store.AppendEventAsync(new ClusterEvent(0, Time, "instance.placed", "web", "m", "web", "node-2", "web-b", "inc-9"));
        Assert.Equal(e, Assert.Single(await Store.QueryEventsAsync(new EventQuery())));
    }
}
