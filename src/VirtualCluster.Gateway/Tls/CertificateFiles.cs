using VirtualCluster.Acme;

namespace VirtualCluster.Gateway.Tls;

/// <summary>
/// The ACME account key and issued certificates in a folder (owner-only), so a restarted gateway serves at once and
/// does not order again. Files are written to a temp name and renamed, so a crash never leaves half a key.
/// </summary>
internal sealed class CertificateFiles(string directory)
{
    private const string AccountKeyFile = "acme-account.key.pem";

    public AcmeAccountKey LoadOrCreateAccountKey()
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, AccountKeyFile);
        if (File.Exists(path)) return AcmeAccountKey.FromPem(File.ReadAllText(path));
        var key = AcmeAccountKey.Create();
        Write(path, key.ExportPem());
        return key;
    }

    public void Save(string name, AcmeCertificate certificate)
    {
        Directory.CreateDirectory(directory);
        var stem = Path.Combine(directory, FileStem(name));
        Write(stem + ".key.pem", certificate.PrivateKeyPem);
        Write(stem + ".pem", certificate.ChainPem);
    }

    public IEnumerable<(string Name, AcmeCertificate Certificate)> LoadAll()
    {
        if (!Directory.Exists(directory)) yield break;
        foreach (var chain in Directory.EnumerateFiles(directory, "*.pem").Where(f => !f.EndsWith(".key.pem", StringComparison.Ordinal)))
        {
            var key = chain[..^".pem".Length] + ".key.pem";
            if (!File.Exists(key)) continue;
            var name = Path.GetFileNameWithoutExtension(chain).Replace("_wildcard", "*", StringComparison.Ordinal);
            yield return (name, new AcmeCertificate(File.ReadAllText(chain), File.ReadAllText(key)));
        }
    }

    private static string FileStem(string name) => name.Replace("*", "_wildcard", StringComparison.Ordinal);

    private static void Write(string path, string text)
    {
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // keys: owner only
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
