using System.Globalization;
using System.Text;

namespace VirtualCluster.Runtime.Process;

/// <summary>
/// The <c>pid</c> file in an instance's data directory: enough to find the process again after the agent
/// restarts, and to tell it from an unrelated process that got the same pid later.
/// </summary>
/// <param name="InstanceId">Instance id.</param>
/// <param name="Epoch">Fencing epoch the instance was started with.</param>
/// <param name="Pid">Process id.</param>
/// <param name="StartTime">Start time in clock ticks since boot, from <c>/proc/&lt;pid&gt;/stat</c>; 0 when unknown.</param>
/// <param name="BootId">Kernel boot id at start; pids and start times repeat across reboots.</param>
/// <param name="StartedAt">Wall-clock start.</param>
/// <param name="ExitCode">Set once the exit was observed.</param>
internal sealed record PidFile(string InstanceId, long Epoch, int Pid, long StartTime, string BootId, DateTimeOffset StartedAt, int? ExitCode = null)
{
    internal const string FileName = "pid";

    internal string Format()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"instanceId={InstanceId}\n");
        text.Append(CultureInfo.InvariantCulture, $"epoch={Epoch}\n");
        text.Append(CultureInfo.InvariantCulture, $"pid={Pid}\n");
        text.Append(CultureInfo.InvariantCulture, $"startTime={StartTime}\n");
        text.Append(CultureInfo.InvariantCulture, $"bootId={BootId}\n");
        text.Append(CultureInfo.InvariantCulture, $"startedAt={StartedAt:O}\n");
        if (ExitCode is int code) text.Append(CultureInfo.InvariantCulture, $"exitCode={code}\n");
        return text.ToString();
    }

    internal static bool TryParse(string text, out PidFile file)
    {
        file = null!;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0) values[line[..equals]] = line[(equals + 1)..];
        }
        if (!values.TryGetValue("instanceId", out var id) || id.Length == 0
            || !TryLong(values, "epoch", out var epoch)
            || !TryLong(values, "pid", out var pid) || pid is < 1 or > int.MaxValue
            || !TryLong(values, "startTime", out var startTime)
            || !values.TryGetValue("startedAt", out var startedText)
            || !DateTimeOffset.TryParseExact(startedText, "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out var startedAt))
        {
            return false;
        }
        int? exitCode = values.TryGetValue("exitCode", out var codeText)
            && int.TryParse(codeText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code)
            ? code
            : null;
        file = new PidFile(id, epoch, (int)pid, startTime, values.GetValueOrDefault("bootId", ""), startedAt, exitCode);
        return true;
    }

    /// <summary>Reads <paramref name="path"/>; null when missing, unreadable or malformed.</summary>
    internal static PidFile? Read(string path)
    {
        try
        {
            return File.Exists(path) && TryParse(File.ReadAllText(path), out var file) ? file : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes atomically (temp file, then rename) so a crash never leaves half a file.</summary>
    internal void Write(string directory)
    {
        var path = Path.Combine(directory, FileName);
        var temp = path + ".tmp";
        File.WriteAllText(temp, Format());
        File.Move(temp, path, overwrite: true);
    }

    private static bool TryLong(Dictionary<string, string> values, string key, out long value)
    {
        value = 0;
        return values.TryGetValue(key, out var text)
            && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }
}
