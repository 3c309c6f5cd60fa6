using VirtualCluster.Store;

namespace VirtualCluster.Membership;

/// <summary>
/// Reads a watch one event at a time and turns "history compacted" into the end of the stream, so callers
/// can yield events without a try/catch around the yield.
/// </summary>
internal sealed class WatchReader(IAsyncEnumerable<KvEvent> watch) : IAsyncDisposable
{
    private readonly IAsyncEnumerator<KvEvent> _enumerator = watch.GetAsyncEnumerator();

    /// <summary>True once the stream ended because the store compacted the history the watch needed.</summary>
    public bool Compacted { get; private set; }

    /// <summary>The next event, or null when the history was compacted (list again).</summary>
    public async Task<KvEvent?> NextAsync()
    {
        try
        {
            return await _enumerator.MoveNextAsync().ConfigureAwait(false) ? _enumerator.Current : null;
        }
        catch (KvHistoryCompactedException)
        {
            Compacted = true;
            return null;
        }
    }

    public ValueTask DisposeAsync() => _enumerator.DisposeAsync();
}
