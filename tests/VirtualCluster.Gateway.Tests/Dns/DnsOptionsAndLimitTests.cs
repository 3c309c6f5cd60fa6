using System.Net;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Dns;

namespace VirtualCluster.Gateway.Tests.Dns;

/// <summary>The options validator's messages and the per-source rate limit on virtual time.</summary>
public sealed class DnsOptionsAndLimitTests
{
    [Fact]
    public void Bad_options_are_named_with_the_fix()
    {
        var result = new DnsServerOptionsValidator().Validate(null, new DnsServerOptions
        {
            Listen = "localhost", Domain = "bad domain", Addresses = ["1.2.3", "gateway.example"], NameServers = ["-x"], Ttl = TimeSpan.Zero,
            MaxUdpPayload = 100, QueriesPerSecondPerSource = double.NaN, BurstPerSource = 0, MaxTrackedSources = 0,
        });
        Assert.True(result.Failed);
        foreach (var option in new[] { "Listen", "Domain", "Addresses", "NameServers", "Ttl", "MaxUdpPayload", "QueriesPerSecondPerSource", "BurstPerSource", "MaxTrackedSources" })
            Assert.Contains(result.Failures!, f => f.StartsWith(option, StringComparison.Ordinal));

        var wildcard = new DnsServerOptionsValidator().Validate(null, new DnsServerOptions { Listen = "0.0.0.0:53", Domain = "vc.example" });
        Assert.Contains("public address", Assert.Single(wildcard.Failures!));
        Assert.True(new DnsServerOptionsValidator().Validate(null, new DnsServerOptions { Listen = "127.0.0.1:5353", Domain = "vc.example" }).Succeeded);
    }

    [Fact]
    public void Each_source_gets_its_burst_then_its_rate()
    {
        var time = new FakeTimeProvider();
        var limiter = new SourceRateLimiter(perSecond: 10, burst: 5, maxSources: 100, time);
        var a = IPAddress.Parse("192.0.2.1");
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => limiter.TryTake(a)));
        // Another source is not affected; an IPv6 /64 counts as one source.
        Assert.True(limiter.TryTake(IPAddress.Parse("192.0.2.2")));
        Assert.Equal(5, Enumerable.Range(0, 20).Count(i => limiter.TryTake(IPAddress.Parse($"2001:db8::{i + 1}"))));
        time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.Equal(3, Enumerable.Range(0, 20).Count(_ => limiter.TryTake(a)));
    }

    [Fact]
    public void The_table_of_sources_stays_bounded()
    {
        var time = new FakeTimeProvider();
        var limiter = new SourceRateLimiter(perSecond: 1, burst: 2, maxSources: 50, time);
        for (var i = 0; i < 1000; i++) limiter.TryTake(new IPAddress(0x0A000000u + (uint)i));
        Assert.Equal(50, limiter.TrackedSources);
        // Past the bound, new sources share one bucket: at most its burst is answered, not one per spoofed address.
        Assert.Equal(0, Enumerable.Range(2000, 100).Count(i => limiter.TryTake(new IPAddress(0x0A000000u + (uint)i))));
        // Once the old buckets have refilled they are forgotten and new sources are tracked again.
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.True(limiter.TryTake(IPAddress.Parse("198.51.100.1")));
        Assert.Equal(1, limiter.TrackedSources);
    }
}
