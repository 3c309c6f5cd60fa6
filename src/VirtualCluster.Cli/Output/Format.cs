using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Cli.Output;

/// <summary>Small text conversions shared by the tables and messages.</summary>
internal static class Format
{
    /// <summary>Enum values as the API writes them ("running", "onFailure").</summary>
    public static string Name<TEnum>(TEnum value) where TEnum : struct, Enum =>
        JsonNamingPolicy.CamelCase.ConvertName(value.ToString());

    /// <summary>"running", or "failed: port in use" when there is a reason.</summary>
    public static string StateWithReason(ServiceInstance instance) =>
        string.IsNullOrWhiteSpace(instance.Reason) ? Name(instance.State) : $"{Name(instance.State)}: {instance.Reason}";

    /// <summary>"1 instance waiting for room (attempt 3, next in 4s): no node has ...".</summary>
    public static string Pending(PendingWork work, DateTimeOffset now)
    {
        var what = work.Kind switch
        {
            "placement" => $"{work.Instances} instance(s) waiting for room",
            "replacement" => $"{work.Instances} failed instance(s) to replace",
            "failover" => $"{work.Instances} instance(s) waiting to fail over",
            "gave-up" => "gave up replacing failed instances",
            _ => $"{work.Instances} instance(s) {work.Kind}",
        };
        var details = new List<string>();
        if (work.Attempts > 0) details.Add($"attempt {work.Attempts}");
        if (work.NextAttemptAt is { } next) details.Add(next > now ? $"next in {Duration.Format(next - now)}" : "next now");
        return details.Count > 0 ? $"{what} ({string.Join(", ", details)}): {work.Reason}" : $"{what}: {work.Reason}";
    }

    /// <summary>An amount of one placement dimension in its natural unit.</summary>
    public static string Amount(string resource, long amount) => resource switch
    {
        "cpu" => Quantity.FormatCpu(amount),
        "memory" or "disk" => Quantity.FormatBytes(amount),
        "ports" => amount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => amount == 0 ? "-" : amount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
