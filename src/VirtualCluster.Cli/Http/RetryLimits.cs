namespace VirtualCluster.Cli.Http;

/// <summary>How long vcluster keeps asking when control planes answer 503 (while an election is under way).</summary>
/// <param name="Budget">The whole wait over all servers; after it the command fails and says what each server said.</param>
/// <param name="MaxDelay">Longest pause between rounds, whatever Retry-After asks for.</param>
internal sealed record RetryLimits(TimeSpan Budget, TimeSpan MaxDelay)
{
    /// <summary>A leader failover takes about the leader lease (5 s by default), so 15 s covers one with room.</summary>
    public static readonly RetryLimits Default = new(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(3));

    /// <summary>The pause before the next round: Retry-After when given (1 s when not), kept within 0.1 s and <see cref="MaxDelay"/>.</summary>
    public TimeSpan Delay(TimeSpan? retryAfter)
    {
        var delay = retryAfter ?? TimeSpan.FromSeconds(1);
        var min = TimeSpan.FromMilliseconds(100);
        return delay < min ? min : delay > MaxDelay ? MaxDelay : delay;
    }
}
