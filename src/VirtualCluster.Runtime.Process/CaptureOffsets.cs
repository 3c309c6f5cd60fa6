using System.Globalization;

namespace VirtualCluster.Runtime.Process;

/// <summary>
/// <c>output.offsets</c> in an instance's data directory: how far into <c>stdout.log</c> and <c>stderr.log</c> the
/// driver has copied complete lines into <c>output.log</c>. Written after those lines, so a driver that takes over
/// after an agent restart resumes there.
/// </summary>
/// <param name="Stdout">Byte offset in <c>stdout.log</c> just after the last line copied.</param>
/// <param name="Stderr">Byte offset in <c>stderr.log</c> just after the last line copied.</param>
internal sealed record CaptureOffsets(long Stdout, long Stderr)
{
    internal const string FileName = "output.offsets";

    internal static readonly CaptureOffsets Zero = new(0, 0);

    internal string Format() => string.Create(CultureInfo.InvariantCulture, $"stdout={Stdout}\nstderr={Stderr}\n");

    internal static CaptureOffsets Parse(string text)
    {
        long stdout = 0, stderr = 0;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || !long.TryParse(line.AsSpan(equals + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var value)) continue;
            if (line.AsSpan(0, equals) is "stdout") stdout = value;
            else if (line.AsSpan(0, equals) is "stderr") stderr = value;
        }
        return new CaptureOffsets(stdout, stderr);
    }

    /// <summary>The offsets saved in <paramref name="directory"/>; zero when there are none (nothing read yet).</summary>
    internal static CaptureOffsets Read(string directory)
    {
        try
        {
            var path = Path.Combine(directory, FileName);
            return File.Exists(path) ? Parse(File.ReadAllText(path)) : Zero;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Zero;
        }
    }

    /// <summary>Writes atomically (temp file, then rename): a driver killed mid-write leaves the previous offsets.</summary>
    internal void Write(string directory)
    {
        var path = Path.Combine(directory, FileName);
        var temp = path + ".tmp";
        File.WriteAllText(temp, Format());
        File.Move(temp, path, overwrite: true);
    }
}
