using System.Net.Sockets;

namespace VirtualCluster.Testing;

/// <summary>
/// A test that needs a real Docker daemon and the local image <see cref="DockerTestEnvironment.Image"/>. Skipped, with
/// the reason, only on a developer machine where the daemon is missing and we are not root; as root or in CI
/// (CI=true) it always runs, so a missing daemon there fails loudly instead of hiding.
/// Shared by the driver tests and the integration tests (linked source).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class DockerFactAttribute : FactAttribute
{
    public DockerFactAttribute()
    {
        if (DockerTestEnvironment.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>What the Docker tests need and whether this machine has it.</summary>
public static class DockerTestEnvironment
{
    /// <summary>Built by scripts/docker-test-image.sh (run by scripts/install-deps.sh).</summary>
    public const string Image = "vc/busybox:test";

    public const string SocketPath = "/var/run/docker.sock";

    public static string Endpoint => "unix://" + SocketPath;

    private static readonly Lazy<string?> Reason = new(FindSkipReason);

    /// <summary>Why Docker tests cannot run here, or null when they run (always null as root or in CI).</summary>
    public static string? SkipReason => Reason.Value;

    private static string? FindSkipReason()
    {
        var mustRun = Environment.UserName == "root" || Environment.GetEnvironmentVariable("CI") == "true";
        if (mustRun) return null;
        if (!File.Exists(SocketPath)) return $"no Docker daemon: {SocketPath} does not exist (run scripts/install-deps.sh as root)";
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
        }
        catch (SocketException e)
        {
            return $"no Docker daemon answering on {SocketPath}: {e.Message} (not root, so scripts/install-deps.sh could not start one)";
        }
        return null;
    }
}
