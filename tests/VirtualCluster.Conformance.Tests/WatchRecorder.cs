namespace VirtualCluster.Conformance.Tests;

/// <summary>Consumes an async stream in the background and lets a test wait for what arrived.</summary>
public sealed class WatchRecorder<T> : IAsyncDisposable
{
    private readonly List<T> _items = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private Exception? _failure;

    public WatchRecorder(Func<CancellationToken, IAsyncEnumerable<T>> watch)
    {
        _loop = Task.Run(async () =>
        {
            try
            {
                await foreach (var item in watch(_stop.Token))
                {
                    lock (_items) _items.Add(item);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                _failure = e;
            }
        });
    }

    public IReadOnlyList<T> Items
    {
        get
        {
            lock (_items) return _items.ToList();
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> items arrived; fails with what did arrive.</summary>
    public async Task<IReadOnlyList<T>> WaitForCountAsync(int count, TimeSpan timeout)
    {
        await WaitUntilAsync(items => items.Count >= count, timeout, $"{count} item(s)");
        return Items;
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the items so far.</summary>
    public async Task<IReadOnlyList<T>> WaitUntilAsync(Func<IReadOnlyList<T>, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var items = Items;
            if (condition(items)) return items;
            if (_failure is not null) throw new Xunit.Sdk.XunitException($"the watch failed while waiting for {what}: {_failure}");
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}; got {items.Count}:\n  " + string.Join("\n  ", items));
            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
