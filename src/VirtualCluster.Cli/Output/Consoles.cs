using Spectre.Console;

namespace VirtualCluster.Cli.Output;

internal static class Consoles
{
    // Wide enough that tables written to files or pipes do not wrap cells.
    private const int RedirectedWidth = 200;

    /// <summary>
    /// A Spectre console bound to <paramref name="writer"/>. Colors, ANSI codes and live rendering
    /// are enabled only for a real terminal, so captured or piped output stays plain text.
    /// </summary>
    public static IAnsiConsole Create(TextWriter writer, bool isTerminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = isTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = isTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isTerminal ? InteractionSupport.Detect : InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        if (!isTerminal) console.Profile.Width = RedirectedWidth;
        return console;
    }

    /// <summary>True when <paramref name="writer"/> is the process's own stdout or stderr and that is not redirected.</summary>
    public static bool IsTerminal(TextWriter writer) =>
        (ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected)
        || (ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected);
}
