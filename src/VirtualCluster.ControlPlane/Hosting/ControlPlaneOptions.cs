using Microsoft.Extensions.Options;

namespace VirtualCluster.ControlPlane;

/// <summary>Settings of the control plane.</summary>
public sealed class ControlPlaneOptions
{
    /// <summary>Directory for the SQLite database and the token files. Required.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>How often agents report. Default 1 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Silence after which a node is Suspect (no new placements). Default 3 s.</summary>
    public TimeSpan SuspectAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Silence after which a node is Down and its instances are replaced. Default 10 s.</summary>
    public TimeSpan DownAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the reconciler compares desired and actual state. Default 1 s.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Log lines returned per instance by default. Default 100.</summary>
    public int DefaultLogTail { get; set; } = 100;

    /// <summary>Least time between two utilization samples of one node (taken from heartbeats). Default 10 s.</summary>
    public TimeSpan UtilizationSampleInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Samples kept per node and for the cluster (in memory). Default 360 (an hour at 10 s).</summary>
    public int UtilizationHistoryLength { get; set; } = 360;

    /// <summary>How far back capacity forecasts fit their trend line. Default 1 h.</summary>
    public TimeSpan CapacityWindow { get; set; } = TimeSpan.FromHours(1);
}

internal sealed class ControlPlaneOptionsValidator : IValidateOptions<ControlPlaneOptions>
{
    public ValidateOptionsResult Validate(string? name, ControlPlaneOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
            errors.Add("DataDirectory is empty: set it to a writable directory for the database and tokens.");
        if (options.HeartbeatInterval <= TimeSpan.Zero)
            errors.Add("HeartbeatInterval must be positive (e.g. 00:00:01).");
        if (options.SuspectAfter <= options.HeartbeatInterval)
            errors.Add("SuspectAfter must be longer than HeartbeatInterval, or every node looks late.");
        if (options.DownAfter <= options.SuspectAfter)
            errors.Add("DownAfter must be longer than SuspectAfter.");
        if (options.ReconcileInterval <= TimeSpan.Zero)
            errors.Add("ReconcileInterval must be positive.");
        if (options.DefaultLogTail is < 1 or > 10_000)
            errors.Add("DefaultLogTail must be between 1 and 10000.");
        if (options.UtilizationSampleInterval <= TimeSpan.Zero)
            errors.Add("UtilizationSampleInterval must be positive (e.g. 00:00:10).");
        if (options.UtilizationHistoryLength is < 2 or > 100_000)
            errors.Add("UtilizationHistoryLength must be between 2 and 100000 samples.");
        if (options.CapacityWindow <= TimeSpan.Zero)
            errors.Add("CapacityWindow must be positive (e.g. 01:00:00).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
