namespace VirtualCluster.Runtime.Docker;

/// <summary>
/// An image reference split the way the pull API wants it: "registry:5000/team/app:1.2" is repository
/// "registry:5000/team/app" and tag "1.2"; "app@sha256:..." keeps the digest; no tag means "latest".
/// </summary>
internal readonly record struct ImageReference(string Repository, string TagOrDigest)
{
    public static ImageReference Parse(string image)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        var at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0) return new(image[..at], image[(at + 1)..]);
        // A colon after the last slash is a tag; one before it belongs to a registry's host:port.
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') ? new(image[..colon], image[(colon + 1)..]) : new(image, "latest");
    }

    /// <inheritdoc />
    public override string ToString() =>
        TagOrDigest.Contains(':', StringComparison.Ordinal) ? $"{Repository}@{TagOrDigest}" : $"{Repository}:{TagOrDigest}";
}
