namespace VirtualCluster;

/// <summary>Builds the field paths used in parse errors: "resources.memory", "ports[1].name", "env.FOO".</summary>
internal static class SpecPath
{
    /// <summary>Path of the whole document.</summary>
    public const string Root = "$";

    public static string Field(string parent, string name)
    {
        // Names that could be confused with path syntax are quoted so the path stays unambiguous.
        var plain = name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
        if (parent == Root) return plain ? name : $"[{SpecText.Quote(name)}]";
        return plain ? $"{parent}.{name}" : $"{parent}[{SpecText.Quote(name)}]";
    }

    public static string Item(string parent, int index) => $"{parent}[{index}]";
}
