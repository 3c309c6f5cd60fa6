using VirtualCluster.Api;

namespace VirtualCluster;

/// <summary>Outcome of <see cref="ServiceSpecParser.Parse(string)"/>: a valid spec, or every problem found.</summary>
/// <param name="Spec">The spec when the document is valid; null otherwise.</param>
/// <param name="Errors">Every problem found, each naming its field path (e.g. "ports[1].name"); empty on success.</param>
public sealed record SpecParseResult(ServiceSpec? Spec, IReadOnlyList<FieldError> Errors)
{
    /// <summary>True when the document was valid and <see cref="Spec"/> is set.</summary>
    public bool Succeeded => Spec is not null && Errors.Count == 0;
}
