namespace VirtualCluster.P2P.Sctp;

public sealed partial class SctpAssociation
{
    /// <summary>The smoothed round-trip time (RFC 6298 SRTT) of the association, or null before the first measurement.</summary>
    public TimeSpan? SmoothedRtt
    {
        get
        {
            lock (_gate) return _rttMeasured ? TimeSpan.FromTicks(ToTimeSpanTicks(_srtt)) : null;
        }
    }
}
