using Microsoft.Extensions.Logging;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Keys;

/// <summary>
/// A control plane's private signing keys on its own disk: <c>token-keys/&lt;kid&gt;.pem</c> in the data directory, the
/// folder 0700 and each file 0600 (owner only). A private key never goes to the store or another machine. Wider
/// permissions are fixed and logged; a key file that others could read is treated as exposed (the caller replaces it).
/// </summary>
public sealed partial class SigningKeyFiles
{
    /// <summary>The folder's name in the data directory.</summary>
    public const string FolderName = "token-keys";

    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly ILogger _logger;

    public SigningKeyFiles(string dataDirectory, ILogger logger)
    {
        Folder = Path.Combine(dataDirectory, FolderName);
        _logger = logger;
    }

    /// <summary>The folder holding the keys.</summary>
    public string Folder { get; }

    /// <summary>A loaded key, and whether its file was readable by others before it was fixed.</summary>
    public sealed record LoadedKey(TokenSigningKey Key, bool Exposed);

    /// <summary>Makes the folder (0700), or fixes its permissions when group or others had any.</summary>
    public void Prepare()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Folder);
            return;
        }
        if (!Directory.Exists(Folder))
        {
            Directory.CreateDirectory(Folder, OwnerOnlyFolder);
            return;
        }
        var mode = File.GetUnixFileMode(Folder);
        if ((mode & GroupOrOthers) != 0)
        {
            Log.FolderFixed(_logger, Folder, Octal(mode));
            File.SetUnixFileMode(Folder, OwnerOnlyFolder);
        }
    }

    /// <summary>
    /// Reads every key file. A file that is not a P-256 private key is renamed to <c>*.bad</c> and logged (never a crash);
    /// a file group or others could read is fixed to 0600, logged, and marked <see cref="LoadedKey.Exposed"/>.
    /// </summary>
    public IReadOnlyList<LoadedKey> Load()
    {
        var keys = new List<LoadedKey>();
        foreach (var path in Directory.EnumerateFiles(Folder, "*.pem").Order(StringComparer.Ordinal))
        {
            var exposed = false;
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & GroupOrOthers) is var wide && wide != 0)
            {
                Log.KeyFileExposed(_logger, path, Octal(File.GetUnixFileMode(path)));
                File.SetUnixFileMode(path, OwnerOnlyFile);
                exposed = true;
            }
            try
            {
                keys.Add(new LoadedKey(TokenSigningKey.FromPem(File.ReadAllText(path)), exposed));
            }
            catch (FormatException e)
            {
                Log.KeyFileUnreadable(_logger, path, e.Message);
                File.Move(path, path + ".bad", overwrite: true);
            }
        }
        return keys;
    }

    /// <summary>Writes a key: to a temporary file created 0600, flushed to disk, then renamed into place.</summary>
    public void Save(TokenSigningKey key)
    {
        var path = PathOf(key.KeyId);
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnlyFile;
        using (var stream = new FileStream(temp, options))
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(key.ExportPem());
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Deletes a key no longer used for signing (its public half stays published until it retires).</summary>
    public void Delete(string keyId)
    {
        var path = PathOf(keyId);
        if (File.Exists(path)) File.Delete(path);
    }

    // A kid is base64url (RFC 7638), so it is a safe file name.
    private string PathOf(string keyId) => Path.Combine(Folder, keyId + ".pem");

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');

    private static partial class Log
    {
        [LoggerMessage(1501, LogLevel.Warning, "The token key folder {Folder} was open to group or others (mode {Mode}); set it to 0700")]
        public static partial void FolderFixed(ILogger logger, string folder, string mode);

        [LoggerMessage(1502, LogLevel.Error, "The token signing key {Path} was readable by group or others (mode {Mode}); set it to 0600 and retired the key at once (anyone who read it could sign tokens): a new key replaces it, and tokens it signed must be issued again")]
        public static partial void KeyFileExposed(ILogger logger, string path, string mode);

        [LoggerMessage(1503, LogLevel.Error, "The token signing key file {Path} cannot be read ({Reason}); renamed it to *.bad and carried on without it")]
        public static partial void KeyFileUnreadable(ILogger logger, string path, string reason);
    }
}
