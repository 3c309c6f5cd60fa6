using System.Threading.Channels;
using VirtualCluster.P2P.Ice;

namespace VirtualCluster.P2P.Signaling;

/// <summary>
/// Connects an <see cref="IceAgent"/> to its peer over an <see cref="ISignalingChannel"/>: the controlling agent sends
/// an offer with its credentials, the controlled one answers with its own; both trickle their candidates as they are
/// gathered and finish with end-of-candidates (RFC 8838). Late candidates keep being applied until disposal.
/// </summary>
public sealed class IceSignalingSession(IceAgent agent, ISignalingChannel channel) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SignalingMessage> _outgoing = Channel.CreateUnbounded<SignalingMessage>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _pumps;
    private int _malformed;
    private bool _answered;

    /// <summary>Candidate lines from the peer that did not parse (dropped).</summary>
    public int MalformedCandidates => Volatile.Read(ref _malformed);

    /// <summary>Starts signaling and gathering, and waits until the agent selects a pair.</summary>
    public Task<IceCandidatePair> ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (_pumps is null)
        {
            agent.CandidateGathered += c => _outgoing.Writer.TryWrite(new CandidateMessage(c.ToSdp()));
            agent.GatheringCompleted += () => _outgoing.Writer.TryWrite(new EndOfCandidatesMessage());
            if (agent.Role == IceRole.Controlling)
                _outgoing.Writer.TryWrite(new OfferMessage(agent.LocalParameters.Ufrag, agent.LocalParameters.Password));
            _pumps = Task.WhenAll(SendLoopAsync(_stop.Token), ReceiveLoopAsync(_stop.Token), agent.GatherAsync(_stop.Token));
        }
        return agent.ConnectAsync(cancellationToken);
    }

    private async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in _outgoing.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                await channel.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await channel.ReceiveAsync(cancellationToken).ConfigureAwait(false) is { } message)
            {
                switch (message)
                {
                    case OfferMessage offer:
                        agent.SetRemoteParameters(new IceParameters(offer.Ufrag, offer.Pwd));
                        if (!_answered)
                        {
                            _answered = true;
                            _outgoing.Writer.TryWrite(new AnswerMessage(agent.LocalParameters.Ufrag, agent.LocalParameters.Password));
                        }
                        break;
                    case AnswerMessage answer:
                        agent.SetRemoteParameters(new IceParameters(answer.Ufrag, answer.Pwd));
                        break;
                    case CandidateMessage candidate:
                        if (IceCandidate.TryParse(candidate.Candidate, out var parsed)) agent.AddRemoteCandidate(parsed);
                        else Interlocked.Increment(ref _malformed);
                        break;
                    case EndOfCandidatesMessage:
                        agent.AddRemoteEndOfCandidates();
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops the pumps (the agent is not disposed: it belongs to the caller).</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _outgoing.Writer.TryComplete();
        if (_pumps is not null)
        {
            try
            {
                await _pumps.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
    }
}
