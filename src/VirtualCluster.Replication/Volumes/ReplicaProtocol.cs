using System.Text.RegularExpressions;

namespace VirtualCluster.Replication.Volumes;

/// <summary>
/// One exchange per TCP connection. Request: varint magic "VRP1", step byte, volume id, epoch, token, then the body in
/// chunks. Response: status byte (0: body in chunks follows; 1: error text follows).
/// </summary>
internal static partial class ReplicaProtocol
{
    public const uint Magic = 0x31505256; // "VRP1"
    public const byte Ok = 0;
    public const byte Refused = 1;

    [GeneratedRegex("^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$")]
    private static partial Regex VolumeIdPattern();

    /// <summary>A volume id names a directory under the holder's data directory: lowercase letters, digits, '.', '_', '-'.</summary>
    public static string? CheckVolumeId(string volumeId) =>
        VolumeIdPattern().IsMatch(volumeId) && !volumeId.Contains("..", StringComparison.Ordinal) ? null
            : $"volume id \"{(volumeId.Length > 40 ? volumeId[..40] + "..." : volumeId)}\" is not valid; use 1-128 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit";
}
