using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Store;

namespace VirtualCluster.Simulator.Engine;

/// <summary>
/// The run's event log: every event the control plane stores (read from the key-value writes, so only what was
/// written) and the simulator's own lines (faults, samples, violations), each as "elapsed kind message". Virtual
/// time only, ids drawn from the seed: the same seed gives the same bytes. Hashed with SHA-256 as it grows.
/// </summary>
internal sealed class EventLog(DateTimeOffset start, TextWriter? writer)
{
    private const string EventsPrefix = "cluster/events/";
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly StringBuilder _line = new();
    private long _lastSequence;

    /// <summary>Each stored control-plane event, in order.</summary>
    public Action<ClusterEvent, TimeSpan>? Observed { get; set; }

    public long Lines { get; private set; }
    public long ControlPlaneEvents { get; private set; }

    /// <summary>Sequence numbers that were skipped (an event written with a gap before it: a lost write).</summary>
    public List<string> Gaps { get; } = [];

    public Dictionary<string, long> Kinds { get; } = new(StringComparer.Ordinal);

    public string? Hash { get; private set; }

    /// <summary>Takes a key-value write; events are logged, everything else is ignored.</summary>
    public void OnWrite(KvEntry entry)
    {
        if (!entry.Key.StartsWith(EventsPrefix, StringComparison.Ordinal)) return;
        var e = JsonSerializer.Deserialize<ClusterEvent>(entry.Value, VirtualClusterJson.Options)!;
        if (e.Sequence != _lastSequence + 1) Gaps.Add($"event {e.Sequence} follows {_lastSequence}");
        _lastSequence = e.Sequence;
        ControlPlaneEvents++;
        var at = e.Timestamp - start;
        Append(at, e.Kind, e.Message);
        Observed?.Invoke(e, at);
    }

    /// <summary>A line of the simulator's own.</summary>
    public void Sim(TimeSpan at, string kind, string message) => Append(at, kind, message);

    private void Append(TimeSpan at, string kind, string message)
    {
        _line.Clear();
        _line.Append(at.ToString(@"d\.hh\:mm\:ss\.fff", CultureInfo.InvariantCulture)).Append(' ').Append(kind).Append(' ').Append(message).Append('\n');
        var text = _line.ToString();
        _hash.AppendData(Encoding.UTF8.GetBytes(text));
        writer?.Write(text);
        Lines++;
        Kinds[kind] = Kinds.GetValueOrDefault(kind) + 1;
    }

    public void Finish()
    {
        Hash ??= Convert.ToHexStringLower(_hash.GetHashAndReset());
        writer?.Flush();
    }
}
