using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using VirtualCluster.ControlPlane.Api;

namespace VirtualCluster.ControlPlane.Tests.Failover;

public sealed class EventQueryReaderTests
{
    private static (EventQuery? Query, string? Error) Read(params (string Key, string Value)[] parameters) =>
        EventQueryReader.Read(new QueryCollection(parameters.ToDictionary(p => p.Key, p => new StringValues(p.Value))));

    [Fact]
    public void Every_filter_is_read()
    {
        var (query, error) = Read(("after", "5"), ("limit", "10"), ("service", "web"), ("node", "node-1"), ("kind", "node"),
            ("incident", "inc-0a1b"), ("since", "2026-01-02T03:04:05Z"));
        Assert.Null(error);
        Assert.Equal(new EventQuery
        {
            AfterSequence = 5, Limit = 10, Service = "web", Node = "node-1", Kind = "node", Incident = "inc-0a1b",
            Since = DateTimeOffset.Parse("2026-01-02T03:04:05Z"),
        }, query);
    }

    [Theory]
    [InlineData("after", "-1", "after must be")]
    [InlineData("limit", "0", "limit must be a whole number from 1 to 5000")]
    [InlineData("limit", "5001", "limit must be")]
    [InlineData("service", "Bad Name", "service must be")]
    [InlineData("node", "", "node must be")]
    [InlineData("kind", "NODE", "kind must be")]
    [InlineData("incident", "x", "incident must be")]
    [InlineData("since", "yesterday", "since must be a time")]
    [InlineData("colour", "red", "unknown parameter \"colour\"")]
    public void Bad_values_get_one_clear_error(string key, string value, string message)
    {
        var (query, error) = Read((key, value));
        Assert.Null(query);
        Assert.Contains(message, error);
    }
}
