using VirtualCluster.ControlPlane.Alerts;

namespace VirtualCluster.ControlPlane.Tests.Alerts;

/// <summary>Threshold rules as a user sends them: good ones read field by field, every bad one refused with the field named.</summary>
public sealed class AlertRuleReaderTests
{
    [Fact]
    public void A_rule_file_reads_with_defaults_and_a_listing_can_be_sent_back()
    {
        var (rules, error) = AlertRuleReader.Read("""
            {"rules": [
              {"name": "WebDown", "scope": "service", "metric": "running", "operator": "<", "threshold": 1, "for": "30s", "match": ["web"], "severity": "critical"},
              {"name": "NodeCpuHigh", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 0.8, "for": "00:05:00", "enabled": false}
            ]}
            """);
        Assert.Null(error);
        Assert.Equal(2, rules!.Count);
        Assert.Equal(("WebDown", "service", "running", "<", 1.0, TimeSpan.FromSeconds(30), "critical"),
            (rules[0].Name, rules[0].Scope, rules[0].Metric, rules[0].Operator, rules[0].Threshold, rules[0].For, rules[0].Severity));
        Assert.Equal(["web"], rules[0].Match!);
        Assert.True(rules[0].Enabled);
        Assert.Equal(("warning", TimeSpan.FromMinutes(5), false), (rules[1].Severity, rules[1].For, rules[1].Enabled));

        // What the API lists (System.Text.Json's TimeSpan, nulls) reads back the same: GET then PUT round-trips.
        var listed = System.Text.Json.JsonSerializer.Serialize(rules, VirtualCluster.Api.VirtualClusterJson.Options);
        var (again, error2) = AlertRuleReader.Read(listed);
        Assert.Null(error2);
        Assert.Equal(rules.Select(r => (r.Name, r.For, r.Threshold, r.Enabled)), again!.Select(r => (r.Name, r.For, r.Threshold, r.Enabled)));
        Assert.Empty(AlertRuleReader.Read("""{"rules": []}""").Rules!);
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("""{"rule": []}""", "unknown field \"rule\"")]
    [InlineData("{}", "rules is missing")]
    [InlineData("""{"rules": {}}""", "rules must be an array")]
    [InlineData("""[1]""", "rules[0] must be an object")]
    [InlineData("""[{"name": "1x", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m"}]""", "rules[0].name")]
    [InlineData("""[{"name": "A", "scope": "pod", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m"}]""", "rules[0].scope")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "running", "operator": ">", "threshold": 1, "for": "1m"}]""", "rules[0].metric must be one of a node's metrics")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": "=>", "threshold": 1, "for": "1m"}]""", "rules[0].operator")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": "high", "for": "1m"}]""", "rules[0].threshold")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1e999, "for": "1m"}]""", "rules[0].threshold")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "2d"}]""", "rules[0].for")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "-1:00:00"}]""", "rules[0].for")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1}]""", "rules[0].for")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m", "severity": "page"}]""", "rules[0].severity")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m", "match": ["Node 1"]}]""", "rules[0].match[0]")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m", "summary": "a\nb"}]""", "rules[0].summary")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m", "enabled": "no"}]""", "rules[0].enabled")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m", "query": "up"}]""", "rules[0]: unknown field \"query\"")]
    [InlineData("""[{"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m"}, {"name": "A", "scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m"}]""", "rules[1].name: \"A\" is used twice")]
    public void A_bad_rule_is_refused_with_the_field_named(string json, string expected)
    {
        var (rules, error) = AlertRuleReader.Read(json);
        Assert.Null(rules);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void More_than_the_bound_of_rules_is_refused()
    {
        var one = """{"scope": "node", "metric": "cpu", "operator": ">", "threshold": 1, "for": "1m", "name": "R""";
        var json = "[" + string.Join(",", Enumerable.Range(0, AlertRuleReader.MaxRules + 1).Select(i => one + i + "\"}")) + "]";
        Assert.Contains($"at most {AlertRuleReader.MaxRules}", AlertRuleReader.Read(json).Error);
        var fits = "[" + string.Join(",", Enumerable.Range(0, AlertRuleReader.MaxRules).Select(i => one + i + "\"}")) + "]";
        Assert.Equal(AlertRuleReader.MaxRules, AlertRuleReader.Read(fits).Rules!.Count);
    }
}
