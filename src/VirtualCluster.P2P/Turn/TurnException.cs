namespace VirtualCluster.P2P.Turn;

/// <summary>
/// A TURN request failed: the server's error code (RFC 8656 §19 and RFC 8489 §14.8: 401 wrong credentials,
/// 403 forbidden, 437 allocation mismatch, 438 stale nonce, 441 wrong credentials, 486 quota, 508 capacity) or 0 for a
/// timeout or an unusable response.
/// </summary>
public sealed class TurnException(int code, string message) : Exception(message)
{
    /// <summary>The STUN error code, or 0 for a timeout.</summary>
    public int Code { get; } = code;
}
