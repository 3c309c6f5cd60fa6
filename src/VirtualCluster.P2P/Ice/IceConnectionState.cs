namespace VirtualCluster.P2P.Ice;

/// <summary>The state of an <see cref="IceAgent"/>.</summary>
public enum IceConnectionState
{
    /// <summary>Created; gathering may be running.</summary>
    New,
    /// <summary>Connectivity checks are running.</summary>
    Checking,
    /// <summary>A nominated pair is selected; data can flow.</summary>
    Connected,
    /// <summary>Every pair failed, or consent expired (RFC 7675): no data is sent.</summary>
    Failed,
    /// <summary>Closed by the application.</summary>
    Closed,
}

/// <summary>Controlling or controlled (RFC 8445 §6.1.1). The controlling agent nominates.</summary>
public enum IceRole
{
    /// <summary>Nominates pairs (usually the offerer).</summary>
    Controlling,
    /// <summary>Follows the controlling agent's nominations.</summary>
    Controlled,
}

/// <summary>The agent failed to connect: every pair failed, or it was closed while connecting.</summary>
public sealed class IceConnectionFailedException(string message) : Exception(message);

/// <summary>Data received on the selected pair (or any checked pair). The span is valid only during the call.</summary>
public delegate void IceDataHandler(ReadOnlySpan<byte> data);
