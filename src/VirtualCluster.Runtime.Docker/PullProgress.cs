using Docker.DotNet.Models;

namespace VirtualCluster.Runtime.Docker;

/// <summary>
/// Folds the daemon's pull messages into one line for the user: "pulling image app:1: 45%". The percentage is
/// bytes downloaded over bytes to download, summed over the layers whose size is known so far (a layer that
/// already exists or finished counts as complete), so it can step back when a new layer's size shows up.
/// </summary>
internal sealed class PullProgress(string image)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (long Current, long Total)> _layers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);

    /// <summary>The current one-line description.</summary>
    public string Describe()
    {
        lock (_lock)
        {
            long current = 0, total = 0;
            foreach (var (id, layer) in _layers)
            {
                total += layer.Total;
                current += _done.Contains(id) ? layer.Total : Math.Min(layer.Current, layer.Total);
            }
            if (total <= 0) return _done.Count > 0 ? $"pulling image {image}: {_done.Count} layer(s) done" : $"pulling image {image}";
            var percent = (int)Math.Clamp(current * 100 / total, 0, 100);
            return $"pulling image {image}: {percent}%";
        }
    }

    /// <summary>Takes one message of the pull stream.</summary>
    public void Add(JSONMessage message)
    {
        if (string.IsNullOrEmpty(message.ID) || message.Status is null) return;
        lock (_lock)
        {
            switch (message.Status)
            {
                case "Downloading" when message.Progress is { Total: > 0 } p:
                    _layers[message.ID] = (p.Current, p.Total);
                    break;
                case "Download complete" or "Pull complete" or "Already exists" or "Verifying Checksum":
                    _done.Add(message.ID);
                    break;
            }
        }
    }
}
