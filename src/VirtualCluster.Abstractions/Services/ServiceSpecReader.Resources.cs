using System.Globalization;
using System.Text.Json;

namespace VirtualCluster;

internal sealed partial class ServiceSpecReader
{
    public const long DefaultCpuMillicores = 100;
    public const long DefaultMemoryBytes = 64L << 20;
    private const long MaxBytes = 1L << 62;
    private const string BytesHelp = "write it like \"64Mi\", \"512M\" or \"1Gi\"";
    private const string CpuHelp = "write cores like 0.5 or \"2\", or millicores like \"250m\"";

    private static readonly string[] ResourceFields = ["cpu", "memory", "disk", "gpus"];

    /// <summary>Most GPUs one instance may ask for.</summary>
    public const int MaxGpus = 1024;

    private Resources ReadResources(Dictionary<string, JsonElement> fields)
    {
        var defaults = new Resources(DefaultCpuMillicores, DefaultMemoryBytes, 0);
        if (!fields.TryGetValue("resources", out var value)) return defaults;
        var resources = reader.Fields(value, "resources", ResourceFields, "{\"cpu\": \"250m\", \"memory\": \"128Mi\"}");
        if (resources is null) return defaults;
        var cpu = resources.TryGetValue("cpu", out var c) ? ReadCpu(c, "resources.cpu") : null;
        var memory = resources.TryGetValue("memory", out var m) ? ReadBytes(m, "resources.memory", allowZero: false) : null;
        var disk = resources.TryGetValue("disk", out var k) ? ReadBytes(k, "resources.disk", allowZero: true) : null;
        var gpus = resources.TryGetValue("gpus", out var g) ? reader.Integer(g, "resources.gpus", 0, MaxGpus) : null;
        return new Resources(cpu ?? defaults.CpuMillicores, memory ?? defaults.MemoryBytes, disk ?? defaults.DiskBytes, (int)(gpus ?? 0));
    }

    private long? ReadCpu(JsonElement value, string path)
    {
        string text;
        if (value.ValueKind == JsonValueKind.Number)
        {
            // A JSON number is cores; it goes through the same parser as "0.5" so both spellings agree.
            if (!value.TryGetDecimal(out var cores))
            {
                reader.Error(path, $"{SpecText.Show(value)} is too large; {CpuHelp}");
                return null;
            }
            text = cores.ToString(CultureInfo.InvariantCulture);
        }
        else if (value.ValueKind == JsonValueKind.String)
        {
            text = reader.Text(value, path, int.MaxValue, "\"250m\"") ?? "";
            if (text.Length == 0) return null;
        }
        else
        {
            reader.Error(path, $"must be a string like \"250m\" or a number of cores like 0.5, not {SpecText.Describe(value.ValueKind)}");
            return null;
        }

        if (!Quantity.TryParseCpu(text, out var millicores))
        {
            reader.Error(path, $"{SpecText.Show(value)} is not a CPU quantity (or is negative or above 1000000 cores); {CpuHelp}");
            return null;
        }
        if (millicores <= 0)
        {
            reader.Error(path, $"{SpecText.Show(value)} is less than one millicore; request at least \"1m\"");
            return null;
        }
        return millicores;
    }

    private long? ReadBytes(JsonElement value, string path, bool allowZero)
    {
        long bytes;
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (!value.TryGetInt64(out bytes) || bytes < 0 || bytes > MaxBytes)
            {
                reader.Error(path, $"{SpecText.Show(value)} is not a whole number of bytes from 0 to 2^62; {BytesHelp}");
                return null;
            }
        }
        else if (value.ValueKind == JsonValueKind.String)
        {
            var text = reader.Text(value, path, int.MaxValue, "\"64Mi\"");
            if (text is null) return null;
            if (!TryParseBytes(text, out bytes))
            {
                reader.Error(path, $"{SpecText.Quote(text)} is not a byte quantity; {BytesHelp}");
                return null;
            }
        }
        else
        {
            reader.Error(path, $"must be a string like \"64Mi\" or a whole number of bytes, not {SpecText.Describe(value.ValueKind)}");
            return null;
        }

        if (bytes == 0 && !allowZero)
        {
            reader.Error(path, $"{SpecText.Show(value)} comes to 0 bytes; request more, e.g. \"64Mi\"");
            return null;
        }
        return bytes;
    }

    private static bool TryParseBytes(string text, out long bytes)
    {
        // Quantity.TryParseBytes multiplies in decimal and throws OverflowException on absurd values
        // such as "70000000000000000000000000000Ti"; the parser must not throw, so that case is a parse failure.
        try
        {
            return Quantity.TryParseBytes(text, out bytes);
        }
        catch (OverflowException)
        {
            bytes = 0;
            return false;
        }
    }
}
