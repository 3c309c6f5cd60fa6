using System.Net;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Stun;

/// <summary>The outcome of a Binding request to a STUN server.</summary>
public sealed record StunBindingResult(IPEndPoint? MappedEndPoint, int ErrorCode = 0, string? Error = null)
{
    /// <summary>True when the server answered with a mapped address.</summary>
    public bool Succeeded => MappedEndPoint is not null;
}

/// <summary>
/// Learns the server-reflexive address of a socket (RFC 8489 §3): sends a Binding request with FINGERPRINT,
/// retransmits per <see cref="StunRetransmission"/> (RTO doubling) and reads XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS
/// from an RFC 3489 server) from the success response.
/// </summary>
public sealed class StunClient(PacketMux mux, StunRetransmission? retransmission = null, string? software = null)
{
    private readonly StunRetransmission _retransmission = retransmission ?? StunRetransmission.Default;

    /// <summary>Sends a Binding request to <paramref name="server"/> and waits for the answer or the timeout.</summary>
    public async Task<StunBindingResult> GetMappedAddressAsync(IPEndPoint server, CancellationToken cancellationToken = default)
    {
        var builder = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.New());
        if (software is not null) builder.Add(StunAttributeType.Software, software);
        var request = builder.AddFingerprintAndBuild();
        var result = await mux.Transactions.Start(builder.TransactionId, () => mux.Send(request, server), _retransmission, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (result.Response is not { } response) return new StunBindingResult(null, 0, "timeout");
        if (response.Class == StunClass.ErrorResponse)
            return response.TryGetError(out var code, out var reason) ? new StunBindingResult(null, code, reason) : new StunBindingResult(null, 0, "error response without ERROR-CODE");
        if (response.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var mapped) || response.TryGetAddress(StunAttributeType.MappedAddress, out mapped))
            return new StunBindingResult(mapped);
        return new StunBindingResult(null, 0, "success response without a mapped address");
    }
}
