using System.Runtime.InteropServices;

namespace VirtualCluster.Replication.Sync;

/// <summary>
/// rename(2) as is: atomic over an existing file or link, and never looking at what a symlink points to. File.Move
/// checks the source first and refuses a symlink whose target does not resolve from where it is staged.
/// </summary>
internal static partial class Rename
{
    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Native(string from, string to);

    public static void Over(string from, string to)
    {
        if (OperatingSystem.IsWindows()) { File.Move(from, to, overwrite: true); return; }
        if (Native(from, to) != 0)
            throw new IOException($"rename of \"{from}\" to \"{to}\" failed: {Marshal.GetLastPInvokeErrorMessage()}");
    }
}
