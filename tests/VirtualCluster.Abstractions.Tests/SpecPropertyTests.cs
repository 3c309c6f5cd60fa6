using System.Text;
using CsCheck;

namespace VirtualCluster.Abstractions.Tests;

public class SpecPropertyTests
{
    private static readonly string Valid = File.ReadAllText(Path.Combine(SpecTestKit.RepoRoot(), "samples", "specs", "hello.json"));

    // Characters that matter to JSON and to the spec's own syntax, so mutations hit interesting paths.
    private const string Interesting = "{}[]\":,-.0123456789eE+mMiGgkKsh \\u/\n\tabcxyzVC_PORT\u00e9\ud800";

    [Fact]
    public void RandomBytesNeverThrow() =>
        Gen.Byte.Array[0, 300].Sample(bytes => AssertWellFormed(ServiceSpecParser.Parse(Encoding.UTF8.GetString(bytes))), iter: 5_000);

    [Fact]
    public void RandomTextNeverThrows() =>
        Gen.String[Gen.Char[Interesting], 0, 200].Sample(text => AssertWellFormed(ServiceSpecParser.Parse(text)), iter: 5_000);

    [Fact]
    public void MutationsOfAValidSpecNeverThrow()
    {
        var mutation = Gen.Select(Gen.Int[0, Valid.Length - 1], Gen.Int[0, 8], Gen.String[Gen.Char[Interesting], 0, 6], Gen.Int[0, 2]);
        mutation.List[1, 6].Sample(edits =>
        {
            var text = Valid;
            foreach (var (at, length, insert, kind) in edits)
            {
                var start = Math.Min(at, text.Length);
                var cut = Math.Min(length, text.Length - start);
                text = kind switch
                {
                    0 => text.Remove(start, cut),
                    1 => text.Insert(start, insert),
                    _ => text.Remove(start, cut).Insert(start, insert),
                };
            }
            var result = ServiceSpecParser.Parse(text);
            AssertWellFormed(result);
            // Anything that parses must survive a round trip.
            if (result.Succeeded)
            {
                var again = ServiceSpecParser.Parse(ServiceSpecParser.ToJson(result.Spec!));
                Assert.True(again.Succeeded);
                SpecTestKit.AssertSameSpec(result.Spec!, again.Spec!);
            }
        }, iter: 5_000);
    }

    [Fact]
    public void GeneratedValidSpecsRoundTrip()
    {
        var label = Gen.String[Gen.Char["abcxyz"], 1, 8];
        var gen = Gen.Select(label, Gen.Int[1, 1000], Gen.Long[1, 1_000_000_000], Gen.Long[1, 1L << 50], label.List[0, 5], Gen.Int[100, 3_600_000], Gen.OneOf(RestartPolicy.Always, RestartPolicy.OnFailure, RestartPolicy.Never));
        gen.Sample((name, replicas, cpu, memory, ports, interval, policy) =>
        {
            var portSpecs = ports.Distinct().Select(p => new PortSpec(p)).ToList();
            var spec = new ServiceSpec
            {
                Name = name,
                Driver = "process",
                Command = "run",
                Replicas = replicas,
                Resources = new Resources(cpu, memory, memory / 2),
                Ports = portSpecs,
                HealthCheck = portSpecs.Count == 0 ? null : new HealthCheckSpec(HealthCheckType.Http, portSpecs[0].Name, "/h", TimeSpan.FromMilliseconds(interval), TimeSpan.FromMilliseconds(100)),
                RestartPolicy = policy,
            };
            var result = ServiceSpecParser.Parse(ServiceSpecParser.ToJson(spec));
            SpecTestKit.AssertSameSpec(spec, SpecTestKit.AssertValid(result));
        }, iter: 2_000);
    }

    private static void AssertWellFormed(SpecParseResult result)
    {
        Assert.NotNull(result.Errors);
        Assert.Equal(result.Spec is not null, result.Errors.Count == 0);
        Assert.Equal(result.Succeeded, result.Errors.Count == 0);
        Assert.All(result.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Field) || string.IsNullOrWhiteSpace(e.Message)));
    }
}
