using System.Globalization;
using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster;

/// <summary>
/// Reads and validates service spec documents (JSON, schema in docs/service-spec.md). Parsing never throws:
/// malformed JSON, wrong types and out-of-range values all become <see cref="FieldError"/>s, and every problem
/// in a document is reported at once, each naming its field ("resources.memory", "ports[1].name", "env.FOO").
/// </summary>
public static class ServiceSpecParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = 32,
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>Parses and validates a spec document.</summary>
    /// <param name="json">The document text; comments are allowed, trailing commas are not.</param>
    public static SpecParseResult Parse(string json)
    {
        if (json is null) return Failed("no document was given; pass the JSON text of a service spec");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            return Failed(DescribeSyntaxError(ex));
        }
        catch (ArgumentException)
        {
            // Thrown when the string is not valid UTF-16 (an unpaired surrogate character).
            return Failed("the text contains an invalid character (an unpaired UTF-16 surrogate); save the file as UTF-8 and try again");
        }
        using (document)
        {
            return Parse(document.RootElement);
        }
    }

    /// <summary>Validates a spec document that was already parsed.</summary>
    /// <param name="element">The root of the document; must be an object.</param>
    public static SpecParseResult Parse(JsonElement element)
    {
        var reader = new SpecReader();
        var spec = new ServiceSpecReader(reader).Read(element);
        return new SpecParseResult(reader.HasErrors ? null : spec, reader.Errors);
    }

    /// <summary>
    /// Writes <paramref name="spec"/> as an indented spec document that <see cref="Parse(string)"/> reads back to an
    /// equal spec, provided the spec is valid. Map keys are sorted so equal specs give equal text.
    /// </summary>
    public static string ToJson(ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return ServiceSpecWriter.Write(spec);
    }

    private static SpecParseResult Failed(string message) => new(null, [new FieldError(SpecPath.Root, message)]);

    private static string DescribeSyntaxError(JsonException ex)
    {
        // The reader's message ends with its own position and advice about reader options, which is noise to a
        // user editing a file; keep the first part and give the position in 1-based editor terms.
        var message = ex.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];
        message = message.Replace(" Change the reader options.", "", StringComparison.Ordinal).TrimEnd();
        var line = (ex.LineNumber ?? 0) + 1;
        var position = (ex.BytePositionInLine ?? 0) + 1;
        return string.Create(CultureInfo.InvariantCulture, $"is not valid JSON at line {line}, position {position}: {message}");
    }
}
