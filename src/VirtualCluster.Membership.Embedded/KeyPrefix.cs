namespace VirtualCluster.Membership.Embedded;

/// <summary>
/// The key range a prefix covers, so prefix queries use the <c>kv</c> table's primary-key index instead of testing
/// every row (a <c>substr</c> comparison alone is a full scan, which every list of instances or events paid).
/// </summary>
internal static class KeyPrefix
{
    /// <summary>
    /// The smallest key greater than every key that starts with <paramref name="prefix"/>, or null when there is
    /// none to give cheaply (empty prefix, or a last character whose successor is not a plain BMP code point).
    /// SQLite compares TEXT keys as UTF-8 bytes, whose order is code-point order, so raising the last code point by
    /// one bounds the range.
    /// </summary>
    public static string? UpperBound(string prefix)
    {
        if (prefix.Length == 0) return null;
        var last = prefix[^1];
        if (last >= '\uD7FF') return null; // surrogates and beyond: leave it to the exact comparison
        return string.Concat(prefix.AsSpan(0, prefix.Length - 1), [(char)(last + 1)]);
    }

    /// <summary>The WHERE clause for keys under <c>$prefix</c>: the index range (with <c>$upper</c> when there is one) and the exact test.</summary>
    public static string Where(string? upper) => upper is null
        ? "key >= $prefix AND substr(key, 1, length($prefix)) = $prefix"
        : "key >= $prefix AND key < $upper AND substr(key, 1, length($prefix)) = $prefix";
}
