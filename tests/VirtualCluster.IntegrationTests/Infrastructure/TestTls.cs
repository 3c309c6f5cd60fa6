using System.Collections.Concurrent;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// The cluster CA each https control plane a test started presents, by its URL, so that the tests' API clients trust
/// exactly that CA (as agents do: by fingerprint, the CA fetched and checked first).
/// </summary>
internal static class TestTls
{
    private static readonly ConcurrentDictionary<string, string> Fingerprints = new(StringComparer.OrdinalIgnoreCase);

    public static void Register(string url, string fingerprint) => Fingerprints[Key(url)] = fingerprint;

    /// <summary>A handler for <paramref name="url"/>: pinned to its cluster CA when it is https and registered.</summary>
    public static HttpMessageHandler Handler(string url) =>
        Fingerprints.TryGetValue(Key(url), out var fingerprint) ? PinnedHttp.CreateHandler(fingerprint) : new HttpClientHandler();

    /// <summary>Reads the fingerprint a control plane wrote into its data directory.</summary>
    public static string ReadFingerprint(string controlPlaneDirectory) =>
        File.ReadAllText(Path.Combine(controlPlaneDirectory, "ca.fingerprint")).Trim();

    private static string Key(string url) => new Uri(url).GetLeftPart(UriPartial.Authority);
}
