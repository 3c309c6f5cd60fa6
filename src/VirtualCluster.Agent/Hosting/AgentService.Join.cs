using VirtualCluster.Agent.Connection;
using VirtualCluster.Agent.Monitoring;
using VirtualCluster.Api;

namespace VirtualCluster.Agent;

internal sealed partial class AgentService
{
    private async Task<AgentIdentity?> JoinAsync(CancellationToken ct)
    {
        var saved = AgentIdentity.Load(_options.DataDirectory);
        if (saved is not null && saved.ServerUrl == _options.ServerUrl && !_savedIdentityRefused)
        {
            _certificate?.Load(saved.NodeId);
            return saved;
        }
        if (string.IsNullOrWhiteSpace(_options.JoinToken))
        {
            LogNoJoinToken(_logger);
            Environment.ExitCode = 2;
            _lifetime.StopApplication();
            return null;
        }
        var request = new JoinRequest(_options.JoinToken, _options.Name, _options.Address, Capacity(),
            [.. await _supervisor.AvailableDriverNamesAsync(ct)], _options.Ports, JoinLabels(), _certificate?.RequestIfDue(_options.Name, joining: true),
            Replicas?.Port);
        try
        {
            var joined = await _client.JoinAsync(request, ct);
            var identity = new AgentIdentity(_options.ServerUrl, joined.NodeId, joined.Token, AgentTrust.FingerprintFor(_options));
            identity.Save(_options.DataDirectory);
            if (joined.ClientCertificate is { Length: > 0 } certificate) _certificate?.Accept(certificate);
            _savedIdentityRefused = false;
            LogJoined(_logger, _options.Name, joined.NodeId);
            return identity;
        }
        catch (ControlPlaneRejectedException e) when ((int)e.Status is >= 400 and < 500)
        {
            // A bad join token or request will not get better by retrying.
            LogJoinRejected(_logger, e.Message);
            Environment.ExitCode = 2;
            _lifetime.StopApplication();
            return null;
        }
    }

    /// <summary>The configured labels, plus which part of which machine this node is when it shares one.</summary>
    private Dictionary<string, string> JoinLabels()
    {
        var labels = new Dictionary<string, string>(_options.Labels, StringComparer.Ordinal);
        if (_options.MachineShare is { } share)
        {
            // The fraction every agent of the machine reports ("1/3"), not this one's part number: parts differ by one unit at most.
            labels.TryAdd(MachineShare.Label, $"1/{share.Of}");
            labels.TryAdd(MachineShare.MachineLabel, Environment.MachineName.ToLowerInvariant());
        }
        return labels;
    }
}
