using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.Agent.Connection;

/// <summary>
/// What an agent keeps after joining: its node id and machine token, per control-plane URL, and the fingerprint of the
/// cluster CA it trusted when it joined (so a restart without the join token still trusts only that CA).
/// </summary>
internal sealed record AgentIdentity(string ServerUrl, string NodeId, string Token, string? CaFingerprint = null)
{
    private const string FileName = "agent.json";

    public static AgentIdentity? Load(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var identity = JsonSerializer.Deserialize<AgentIdentity>(File.ReadAllText(path), VirtualClusterJson.Options);
            return identity is { NodeId.Length: > 0, Token.Length: > 0 } ? identity : null;
        }
        catch (JsonException)
        {
            return null; // A damaged file only costs a rejoin.
        }
    }

    public void Save(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(path + ".tmp", options))
            JsonSerializer.Serialize(stream, this, VirtualClusterJson.Options);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
