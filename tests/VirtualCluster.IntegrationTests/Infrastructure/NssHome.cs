using VirtualCluster.P2P.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// A temporary HOME for Chromium whose NSS database (~/.pki/nssdb, where Chromium on Linux reads roots a user added)
/// trusts exactly one extra root, or none (the control). The browser's profile lives under it too; disposal deletes all.
/// </summary>
internal sealed class NssHome : IDisposable
{
    private NssHome(string path) => Path = path;

    public string Path { get; }

    /// <summary>Why a browser with its own trust store cannot run here (with the fix), or null when it can.</summary>
    public static string? UnavailableReason() =>
        Chromium.UnavailableReason()
        ?? (Shell.Exists("certutil") ? null : "certutil is not installed (Debian package libnss3-tools, Chromium's trust store tool): run scripts/install-p2p-deps.sh as root");

    /// <summary>A new home whose NSS store trusts <paramref name="rootPemPath"/> as a TLS root, or is empty when null.</summary>
    public static NssHome Create(string? rootPemPath)
    {
        if (UnavailableReason() is { } reason) throw new InvalidOperationException(reason);
        var home = new NssHome(Directory.CreateTempSubdirectory("vc-nsshome-").FullName);
        try
        {
            var database = $"sql:{Directory.CreateDirectory(System.IO.Path.Combine(home.Path, ".pki", "nssdb")).FullName}";
            Shell.Check("certutil", "-d", database, "-N", "--empty-password");
            // "C,,": a CA trusted to issue server certificates (SSL column), nothing for mail or code signing.
            if (rootPemPath is not null) Shell.Check("certutil", "-d", database, "-A", "-t", "C,,", "-n", "pebble-root", "-i", rootPemPath);
            return home;
        }
        catch
        {
            home.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
