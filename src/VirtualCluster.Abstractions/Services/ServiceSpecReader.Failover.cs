using System.Text.Json;

namespace VirtualCluster;

internal sealed partial class ServiceSpecReader
{
    public const int MaxFailoverAttempts = 1000;

    private const string FailoverPath = "failover";

    private static readonly string[] FailoverFields = ["delay", "maxAttempts"];

    /// <summary><c>"failover": "never"</c>, or <c>{"delay": "30s", "maxAttempts": 5}</c> (both optional).</summary>
    private FailoverPolicy ReadFailover(Dictionary<string, JsonElement> fields)
    {
        if (!fields.TryGetValue(FailoverPath, out var value)) return FailoverPolicy.Default;
        if (value.ValueKind == JsonValueKind.String)
        {
            var word = reader.Text(value, FailoverPath, int.MaxValue, "\"never\"");
            if (word is null or "never") return FailoverPolicy.Never;
            reader.Error(FailoverPath, $"{SpecText.Quote(word)} is not a failover policy; write \"never\", or an object like {{\"delay\": \"30s\", \"maxAttempts\": 5}}");
            return FailoverPolicy.Never;
        }
        var policy = reader.Fields(value, FailoverPath, FailoverFields, "{\"delay\": \"30s\", \"maxAttempts\": 5} or \"never\"");
        if (policy is null) return FailoverPolicy.Default;
        var delay = policy.TryGetValue("delay", out var d) ? ReadDuration(d, $"{FailoverPath}.delay", allowZero: true) : TimeSpan.Zero;
        var attempts = policy.TryGetValue("maxAttempts", out var a)
            ? reader.Integer(a, $"{FailoverPath}.maxAttempts", 0, MaxFailoverAttempts)
            : FailoverPolicy.DefaultMaxAttempts;
        return new FailoverPolicy(true, delay ?? TimeSpan.Zero, (int)(attempts ?? FailoverPolicy.DefaultMaxAttempts));
    }
}
