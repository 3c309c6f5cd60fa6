namespace VirtualCluster.Cli;

/// <summary>Process exit codes of vcluster; scripts rely on them, so they never change meaning.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>The operation failed: the server said no, a deploy timed out, or an instance failed.</summary>
    public const int Failed = 1;

    /// <summary>Bad input: usage errors, bad flag values, missing or invalid files, an invalid spec, no token.</summary>
    public const int BadInput = 2;

    /// <summary>The control plane could not be reached (none of the listed ones, or none had a leader in time).</summary>
    public const int Unreachable = 3;
}
