using Microsoft.Extensions.Options;
using VirtualCluster.FailureDetection;

namespace VirtualCluster.ControlPlane;

/// <summary>Settings of the control plane. Validated at start-up; every problem is reported with its fix.</summary>
/// <remarks>
/// Failover timing: a crashed node is declared Down after about
/// <c>FailureDetector.MinimumDetectionTime(HeartbeatInterval)</c> of silence (3.1 s with the defaults; longer when
/// its heartbeats have been irregular). Instances of services with several replicas are replaced at once; a
/// singleton (one replica) is replaced only once the node has been silent for <see cref="FencingLease"/> +
/// <see cref="FencingMargin"/>, because by then its agent has stopped the old copy by itself (see
/// docs/failover.md). The singleton's failover therefore takes max(detection, lease + margin) plus the start of
/// the new copy.
/// </remarks>
public sealed class ControlPlaneOptions
{
    /// <summary>Directory for the embedded cluster state (<c>state.db</c>) and the token files. Required.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>
    /// How often agents report (sent to them in every heartbeat answer), as long as the cluster is small enough for
    /// <see cref="MaxHeartbeatsPerSecond"/>. Default 500 ms.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Bound on the heartbeats per second the leader takes from the whole cluster: agents are told
    /// max(<see cref="HeartbeatInterval"/>, nodes / this) (at most 5 minutes), so the leader's load stays bounded as
    /// the cluster grows, as Nomad does. Nodes that left are not counted. Default 1,000: clusters of up to 500 nodes
    /// keep the 500 ms interval (and the 3.1 s detection); 1,000 nodes report every second, 10,000 every 10 s.
    /// </summary>
    /// <remarks>
    /// The failure detector judges each node against the interval it was told, so a node told to slow down is not
    /// declared down for it; a node that stops is declared Down after about
    /// <c>FailureDetector.MinimumDetectionTime(interval told)</c>, i.e. the interval grows the detection time one for
    /// one (10,000 nodes at the default: about 12.6 s instead of 3.1 s). The fencing lease sent to agents grows by
    /// twice the extra interval (<see cref="FencingLease"/> + 2 × (told − <see cref="HeartbeatInterval"/>)), so it
    /// still spans at least two intervals, and a singleton is replaced only after that lease.
    /// Between 1 and 1,000,000.
    /// </remarks>
    public double MaxHeartbeatsPerSecond { get; set; } = 1_000;

    /// <summary>
    /// Phi-accrual detector settings: thresholds for Suspect and Down, deviation floor, acceptable pause, window.
    /// Keep <see cref="FailureDetectorOptions.FirstHeartbeatEstimate"/> equal to <see cref="HeartbeatInterval"/>.
    /// </summary>
    public FailureDetectorOptions FailureDetector { get; set; } = new();

    /// <summary>
    /// How long an agent may go without a successful heartbeat before it stops its singleton instances by itself
    /// (self-fencing), so that a replacement started elsewhere never runs beside a stale copy. Sent to agents in
    /// every heartbeat answer. <see cref="TimeSpan.Zero"/> turns self-fencing off (singletons are then replaced
    /// without waiting, and a partitioned node's copy keeps running until it reconnects). Default 3 s.
    /// </summary>
    public TimeSpan FencingLease { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long a machine token (an agent's credential) is valid. Agents get a fresh one in a heartbeat answer once
    /// half of it has passed, so a working agent never sees it expire, while a copied token stops working after this
    /// long. <see cref="TimeSpan.Zero"/>: machine tokens never expire (as before). Default 24 h.
    /// </summary>
    public TimeSpan MachineTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Extra silence, on top of <see cref="FencingLease"/>, before a singleton is replaced: covers the agent's
    /// reaction time and clock-rate differences. Default 500 ms.
    /// </summary>
    public TimeSpan FencingMargin { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the reconciler compares desired and actual state. Default 1 s.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often a reconcile pass looks at every service. The passes in between look only at services whose record or
    /// instances changed since the last pass and at those waiting for a retry (at 10,000 nodes and 1,000 services most
    /// passes touch a handful); the full pass is a safety net. Default 30 s, at most 1 h; a shorter value than
    /// <see cref="ReconcileInterval"/> makes every timed pass a full one.
    /// </summary>
    public TimeSpan FullReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Heartbeats are kept in memory: a node's record is written to the store when something other than its last
    /// heartbeat time and usage changes (join, state, capacity, drivers), and otherwise at most this often, or every
    /// ten heartbeat intervals when that is longer (a large cluster's agents report every few minutes), as a compact
    /// snapshot. Default 30 s. Between 1 s and 1 h.
    /// </summary>
    public TimeSpan NodeSnapshotInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often node states are re-read from the failure detector (in memory, cheap); a change starts a reconcile
    /// pass at once instead of at the next <see cref="ReconcileInterval"/>. Default 100 ms.
    /// </summary>
    public TimeSpan FailureCheckInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>First wait before retrying a placement that failed or replacing an instance that failed; doubles per attempt. Default 1 s.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between retries. Default 30 s.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Log lines returned per instance by default. Default 100.</summary>
    public int DefaultLogTail { get; set; } = 100;

    /// <summary>Least time between two utilization samples of one node (taken from heartbeats). Default 10 s.</summary>
    public TimeSpan UtilizationSampleInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Samples kept per node and for the cluster (in memory). Default 360 (an hour at 10 s).</summary>
    public int UtilizationHistoryLength { get; set; } = 360;

    /// <summary>How far back capacity forecasts fit their trend line. Default 1 h.</summary>
    public TimeSpan CapacityWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Least span of a node's samples before a trend is forecast (until then: "not enough history"). Default 10 minutes.</summary>
    public TimeSpan ForecastMinimumHistory { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Least number of a node's samples before a trend is forecast. Default 20.</summary>
    public int ForecastMinimumSamples { get; set; } = 20;

    /// <summary>
    /// A CA certificate (PEM) to use instead of the cluster's own, with <see cref="TlsCaKeyFile"/>. Default none: the
    /// control plane makes a CA on first start and keeps it in the cluster store.
    /// </summary>
    public string? TlsCaCertificateFile { get; set; }

    /// <summary>The private key (PEM, ECDSA) of <see cref="TlsCaCertificateFile"/>.</summary>
    public string? TlsCaKeyFile { get; set; }

    /// <summary>
    /// Extra host names and addresses the server certificate names (its listen and advertised hosts). localhost, the
    /// machine's name and every local address are always in it.
    /// </summary>
    public List<string> TlsNames { get; set; } = [];

    /// <summary>Lifetime of the control plane's server certificate; renewed after two thirds of it. Default 30 days.</summary>
    public TimeSpan ServerCertificateLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Lifetime of an agent's client certificate (issued at join from the agent's own key, renewed by the agent in a
    /// heartbeat once two thirds of it are over). Short, so a copied certificate and key die soon. Default 7 days;
    /// between 10 s (tests) and 397 days.
    /// </summary>
    public TimeSpan ClientCertificateLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Refuse a machine token that comes without its node's client certificate on the agent endpoints (heartbeat,
    /// leave, drain, p2p config). Default false: agents that joined before client certificates existed keep working
    /// with their token alone (and get a certificate at their next heartbeat); a certificate that is presented is
    /// always checked. Turn it on once every agent runs a release with client certificates.
    /// </summary>
    public bool RequireClientCertificate { get; set; }

    internal Scheduling.ForecastRules ForecastRules() => new()
    {
        Window = CapacityWindow,
        MinimumHistory = ForecastMinimumHistory,
        MinimumSamples = ForecastMinimumSamples,
    };
}

internal sealed class ControlPlaneOptionsValidator : IValidateOptions<ControlPlaneOptions>
{
    public ValidateOptionsResult Validate(string? name, ControlPlaneOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
            errors.Add("DataDirectory is empty: set it to a writable directory for the database and tokens.");
        var intervalOk = options.HeartbeatInterval >= TimeSpan.FromMilliseconds(100) && options.HeartbeatInterval <= TimeSpan.FromSeconds(30);
        if (!intervalOk)
            errors.Add("HeartbeatInterval must be between 100 ms and 30 s (e.g. 00:00:00.5); agents clamp other values.");
        if (options.FailureDetector is null)
        {
            errors.Add("FailureDetector is null: leave it at its default or set its properties.");
        }
        else
        {
            var detectorErrors = options.FailureDetector.Validate();
            errors.AddRange(detectorErrors.Select(e => "FailureDetector." + e));
            if (detectorErrors.Count == 0 && intervalOk && options.FailureDetector.MinimumDetectionTime(options.HeartbeatInterval) < 2 * options.HeartbeatInterval)
                errors.Add("FailureDetector would declare a node Down after a single late heartbeat: raise AcceptableHeartbeatPause, MinStandardDeviation or DownThreshold, or shorten HeartbeatInterval.");
        }
        if (!double.IsFinite(options.MaxHeartbeatsPerSecond) || options.MaxHeartbeatsPerSecond < 1 || options.MaxHeartbeatsPerSecond > 1_000_000)
            errors.Add("MaxHeartbeatsPerSecond must be a number from 1 to 1000000 (default 1000): the heartbeats per second the leader takes; agents of larger clusters are told to report less often.");
        if (options.FencingLease != TimeSpan.Zero && (options.FencingLease < 2 * options.HeartbeatInterval || options.FencingLease > TimeSpan.FromMinutes(10)))
            errors.Add("FencingLease must be 0 (self-fencing off) or between two heartbeat intervals and 10 minutes; shorter leases stop singletons after one lost heartbeat.");
        if (options.MachineTokenLifetime != TimeSpan.Zero && (options.MachineTokenLifetime < TimeSpan.FromSeconds(2) || options.MachineTokenLifetime > TimeSpan.FromDays(365)))
            errors.Add("MachineTokenLifetime must be 0 (machine tokens never expire) or between 2 s and 365 days, e.g. 1.00:00:00 for a day.");
        if ((options.TlsCaCertificateFile is null) != (options.TlsCaKeyFile is null))
            errors.Add("TlsCaCertificateFile and TlsCaKeyFile go together: give both (a CA certificate and its key, PEM) or neither (the cluster makes its own CA).");
        if (options.ServerCertificateLifetime < TimeSpan.FromMinutes(1) || options.ServerCertificateLifetime > TimeSpan.FromDays(397))
            errors.Add("ServerCertificateLifetime must be between 1 minute and 397 days, e.g. 30.00:00:00.");
        if (options.ClientCertificateLifetime < TimeSpan.FromSeconds(10) || options.ClientCertificateLifetime > TimeSpan.FromDays(397))
            errors.Add("ClientCertificateLifetime must be between 10 s and 397 days, e.g. 7.00:00:00.");
        if (options.TlsNames is null || options.TlsNames.Any(n => !System.Net.IPAddress.TryParse(n, out _) && Uri.CheckHostName(n) != UriHostNameType.Dns))
            errors.Add("TlsNames must hold host names or IP addresses without scheme, port or spaces, e.g. cp.example.net or 192.0.2.10.");
        if (options.FencingMargin < TimeSpan.Zero || options.FencingMargin > TimeSpan.FromMinutes(1))
            errors.Add("FencingMargin must be between 0 and 1 minute, e.g. 00:00:00.5.");
        if (options.ReconcileInterval <= TimeSpan.Zero)
            errors.Add("ReconcileInterval must be positive.");
        if (options.FullReconcileInterval <= TimeSpan.Zero || options.FullReconcileInterval > TimeSpan.FromHours(1))
            errors.Add("FullReconcileInterval must be positive and at most 1 h (default 00:00:30): how often a pass looks at every service, not only at the changed ones.");
        if (options.NodeSnapshotInterval < TimeSpan.FromSeconds(1) || options.NodeSnapshotInterval > TimeSpan.FromHours(1))
            errors.Add("NodeSnapshotInterval must be between 1 s and 1 h (e.g. 00:00:30).");
        if (options.FailureCheckInterval <= TimeSpan.Zero || options.FailureCheckInterval > options.ReconcileInterval)
            errors.Add("FailureCheckInterval must be positive and at most ReconcileInterval, e.g. 00:00:00.1.");
        if (options.RetryBackoff <= TimeSpan.Zero || options.MaxRetryBackoff < options.RetryBackoff)
            errors.Add("RetryBackoff must be positive and MaxRetryBackoff at least RetryBackoff.");
        if (options.DefaultLogTail is < 1 or > 10_000)
            errors.Add("DefaultLogTail must be between 1 and 10000.");
        if (options.UtilizationSampleInterval <= TimeSpan.Zero)
            errors.Add("UtilizationSampleInterval must be positive (e.g. 00:00:10).");
        if (options.UtilizationHistoryLength is < 2 or > 100_000)
            errors.Add("UtilizationHistoryLength must be between 2 and 100000 samples.");
        if (options.CapacityWindow <= TimeSpan.Zero)
            errors.Add("CapacityWindow must be positive (e.g. 01:00:00).");
        else
            // Only MinimumHistory and MinimumSamples can be wrong here; their messages name them without the prefix.
            errors.AddRange(options.ForecastRules().Validate().Select(e => "Forecast" + e));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
