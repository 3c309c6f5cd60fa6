using System.Runtime.InteropServices;

namespace VirtualCluster.Runtime.Process;

/// <summary>
/// Finds the program a spec's command names, the way <c>execvp</c> would, and checks it can run.
/// </summary>
/// <remarks>
/// Workloads are started through <c>/bin/sh</c> (so their output can go straight to files), and a shell turns
/// "not found" or "not executable" into exit code 127 or 126 with the reason lost in its own stderr. Checking
/// first keeps start errors specific, and the shell then execs the absolute path we checked: it never searches.
/// </remarks>
internal static partial class CommandResolver
{
    /// <summary>What execvp searches when PATH is unset (glibc's confstr(_CS_PATH)).</summary>
    internal const string DefaultPath = "/bin:/usr/bin";

    private const int ExecuteOk = 1; // X_OK

    /// <summary>
    /// Resolves <paramref name="command"/>: a name with a '/' is a path, relative to the working directory (where
    /// the process will be); a bare name is looked up in <paramref name="pathVariable"/>, the workload's PATH.
    /// </summary>
    /// <param name="command">The spec's command.</param>
    /// <param name="workingDirectory">The workload's working directory (absolute).</param>
    /// <param name="pathVariable">The workload's PATH; <see cref="DefaultPath"/> when null.</param>
    /// <param name="resolved">The absolute path to exec, when the result is null.</param>
    /// <returns>Null when the command can run, else why not, phrased for the instance's status.</returns>
    internal static string? Resolve(string command, string workingDirectory, string? pathVariable, out string resolved)
    {
        resolved = "";
        if (command.Contains('/', StringComparison.Ordinal))
        {
            var path = Path.GetFullPath(command, workingDirectory);
            if (!File.Exists(path) && !Directory.Exists(path)) return $"command \"{command}\" not found: no such file \"{path}\"";
            resolved = path;
            return Check(command, path);
        }

        var search = pathVariable ?? DefaultPath;
        string? denied = null;
        foreach (var entry in search.Split(':'))
        {
            // An empty PATH entry means the current directory, as for execvp.
            var candidate = Path.GetFullPath(Path.Combine(entry.Length == 0 ? "." : entry, command), workingDirectory);
            if (!File.Exists(candidate)) continue;
            if (IsExecutable(candidate))
            {
                resolved = candidate;
                return Check(command, candidate);
            }
            // execvp goes on searching after EACCES and reports it only when nothing later matches.
            denied ??= candidate;
        }
        if (denied is not null) return NotExecutable(command, denied);
        return $"command \"{command}\" not found in PATH ({search})";
    }

    private static string? Check(string command, string path)
    {
        if (Directory.Exists(path)) return $"command \"{command}\" is not executable: \"{path}\" is a directory";
        if (!IsExecutable(path)) return NotExecutable(command, path);
        return HasExecutableHeader(path) ? null : $"command \"{command}\" is not a valid executable: \"{path}\" is neither an ELF binary nor a script starting with #!";
    }

    private static string NotExecutable(string command, string path) =>
        $"command \"{command}\" is not executable (permission denied): \"{path}\"";

    /// <summary>access(X_OK): the kernel's answer for this user, groups and ACLs included.</summary>
    private static bool IsExecutable(string path) => Access(path, ExecuteOk) == 0;

    /// <summary>
    /// True for ELF binaries and #! scripts. A shell would run any other executable file as a shell script, where
    /// exec alone fails with ENOEXEC; this keeps the old "not a valid executable" error (formats registered with
    /// binfmt_misc are refused too). An unreadable file passes:
    /// a binary needs only the execute permission, and the kernel will judge it.
    /// </summary>
    private static bool HasExecutableHeader(string path)
    {
        Span<byte> header = stackalloc byte[4];
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var read = RandomAccess.Read(file, header, 0);
            return (read >= 2 && header[0] == '#' && header[1] == '!')
                || (read == 4 && header[0] == 0x7f && header[1] == 'E' && header[2] == 'L' && header[3] == 'F');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Access(string path, int mode);
}
