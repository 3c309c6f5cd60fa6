using System.Text.Json;
using VirtualCluster.Api;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public sealed class BrowserDirectSpecTests
{
    [Fact]
    public void Browser_direct_is_off_by_default() => Assert.False(AssertValid(ParseWith(_ => { })).BrowserDirect);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Browser_direct_takes_a_boolean(bool value) => Assert.Equal(value, AssertValid(ParseWith(d => d["browserDirect"] = value)).BrowserDirect);

    [Fact]
    public void Browser_direct_rejects_a_string_with_the_fix() =>
        AssertError(ParseWith(d => d["browserDirect"] = "yes"), "browserDirect", "must be true or false, not a string");

    [Fact]
    public void Browser_direct_round_trips_through_the_writer_and_api_json_and_off_is_left_out()
    {
        var on = AssertValid(ParseWith(d => d["browserDirect"] = true));
        Assert.Contains("\"browserDirect\": true", ServiceSpecParser.ToJson(on), StringComparison.Ordinal);
        Assert.True(AssertValid(ServiceSpecParser.Parse(ServiceSpecParser.ToJson(on))).BrowserDirect);
        Assert.DoesNotContain("browserDirect", ServiceSpecParser.ToJson(AssertValid(ParseWith(_ => { }))), StringComparison.Ordinal);
        var json = JsonSerializer.Serialize(on, VirtualClusterJson.Options);
        Assert.True(JsonSerializer.Deserialize<ServiceSpec>(json, VirtualClusterJson.Options)!.BrowserDirect);
    }
}
