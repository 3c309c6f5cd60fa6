using System.Text.Json;

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

    /// <summary>An amount of one placement dimension in its natural unit.</summary>
    public static string Amount(string resource, long amount) => resource switch
    {
        "cpu" => Quantity.FormatCpu(amount),
        "memory" or "disk" => Quantity.FormatBytes(amount),
        "ports" => amount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => amount == 0 ? "-" : amount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
