namespace VirtualCluster.Host.Console;

/// <summary>
/// How `local` reports its start: one line per step, ticked when done or crossed when it failed (the way kind and
/// `nomad agent -dev` do), so a new user sees what came up and what to type next.
/// </summary>
internal sealed class StartChecklist(TextWriter output, TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();

    /// <summary>A finished step, with how long since the start.</summary>
    public void Done(string what) => output.WriteLine($" ✓ [{Elapsed(),6}] {what}");

    /// <summary>A step that needs no timing (e.g. a file written).</summary>
    public void Info(string what) => output.WriteLine($"   {"",8} {what}");

    /// <summary>A step that failed; <paramref name="why"/> says what to look at.</summary>
    public void Failed(string what, string why) => output.WriteLine($" ✗ [{Elapsed(),6}] {what}\n{why}");

    /// <summary>The closing block: the exact commands to run next, one per line.</summary>
    public void Next(string heading, IEnumerable<string> commands)
    {
        output.WriteLine();
        output.WriteLine(heading);
        foreach (var command in commands) output.WriteLine("  " + command);
    }

    private string Elapsed() => $"{time.GetElapsedTime(_started).TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s";
}
