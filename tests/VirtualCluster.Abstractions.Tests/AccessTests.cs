using System.Text.Json;
using VirtualCluster.Api;
using static VirtualCluster.Abstractions.Tests.SpecTestKit;

namespace VirtualCluster.Abstractions.Tests;

public sealed class AccessTests
{
    [Fact]
    public void Access_defaults_to_public() => Assert.Equal(ServiceAccess.Public, AssertValid(ParseWith(_ => { })).Access);

    [Theory]
    [InlineData("public", ServiceAccess.Public)]
    [InlineData("token", ServiceAccess.Token)]
    public void Access_accepts_public_and_token(string text, ServiceAccess access) =>
        Assert.Equal(access, AssertValid(ParseWith(d => d["access"] = text)).Access);

    [Fact]
    public void Access_rejects_other_words_with_the_choices() =>
        AssertError(ParseWith(d => d["access"] = "private"), "access", "\"private\" is not an access mode; use \"public\" or \"token\"");

    [Fact]
    public void Access_suggests_the_right_case() =>
        AssertError(ParseWith(d => d["access"] = "Token"), "access", "write \"token\" (values are case-sensitive)");

    [Fact]
    public void Access_rejects_non_strings() =>
        AssertError(ParseWith(d => d["access"] = true), "access", "\"public\" or \"token\"");

    [Fact]
    public void Token_access_round_trips_through_the_writer_and_public_is_left_out()
    {
        var token = AssertValid(ParseWith(d => d["access"] = "token"));
        Assert.Contains("\"access\": \"token\"", ServiceSpecParser.ToJson(token), StringComparison.Ordinal);
        AssertSameSpec(token, AssertValid(ServiceSpecParser.Parse(ServiceSpecParser.ToJson(token))));
        Assert.DoesNotContain("access", ServiceSpecParser.ToJson(AssertValid(ParseWith(_ => { }))), StringComparison.Ordinal);
    }

    [Fact]
    public void Access_travels_in_api_json_as_a_camel_case_string()
    {
        var spec = AssertValid(ParseWith(d => d["access"] = "token"));
        var json = JsonSerializer.Serialize(spec, VirtualClusterJson.Options);
        Assert.Contains("\"access\":\"token\"", json, StringComparison.Ordinal);
        Assert.Equal(ServiceAccess.Token, JsonSerializer.Deserialize<ServiceSpec>(json, VirtualClusterJson.Options)!.Access);
    }
}
