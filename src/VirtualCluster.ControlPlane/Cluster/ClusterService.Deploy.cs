using VirtualCluster.Api;
using VirtualCluster.Scheduling;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>Outcome of a deploy: the HTTP status and either a view or an error.</summary>
public sealed record DeployOutcome(int StatusCode, ServiceView? Service, ApiError? Error);

public sealed partial class ClusterService
{
    /// <summary>
    /// Validates and deploys a spec document. All replicas are placed or none: on a placement failure nothing
    /// is stored. Deploying the identical spec again is a no-op (200); a different spec under a taken name is 409.
    /// </summary>
    public async Task<DeployOutcome> DeployAsync(string specJson, CancellationToken ct)
    {
        var parsed = ServiceSpecParser.Parse(specJson);
        if (!parsed.Succeeded || parsed.Spec is null)
        {
            _metrics?.Deploy("invalid");
            var first = parsed.Errors[0];
            var more = parsed.Errors.Count > 1 ? $" (and {parsed.Errors.Count - 1} more problem(s), listed in errors)" : "";
            return new DeployOutcome(400, null, new ApiError($"the service spec is invalid: {first.Field}: {first.Message}{more}", parsed.Errors));
        }
        var spec = parsed.Spec;

        await _placementLock.WaitAsync(ct);
        try
        {
            if (await DomainErrorAsync(spec, ct) is { } domainError)
            {
                _metrics?.Deploy("invalid");
                return new DeployOutcome(400, null, domainError);
            }
            var existing = await Store.GetServiceAsync(spec.Name, ct);
            if (existing is not null)
            {
                var same = ServiceSpecParser.ToJson(await OpenSecretsAsync(existing.Spec, ct)) == ServiceSpecParser.ToJson(spec);
                _metrics?.Deploy(same ? "unchanged" : "conflict");
                if (same)
                    return new DeployOutcome(200, await GetServiceViewAsync(spec.Name, ct), null);
                return new DeployOutcome(409, null, new ApiError(
                    $"a different service named \"{spec.Name}\" is already deployed; remove it first with `vcluster rm {spec.Name}` or choose another name"));
            }

            // Secret values are sealed before anything is stored or planned; only assignments open them.
            spec = await _secrets.SealAsync(spec, ct);
            var (result, outcome) = await PlanAndApplyAsync(async token =>
            {
                var placed = await PlaceAsync(spec, spec.Replicas, null, token);
                return (placed, placed.Succeeded ? new Plan(spec, null, placed.Placements.Select(p => new PlannedInstance(p)).ToList(), Reserved: true) : null);
            }, ct);
            if (outcome is { Applied: false })
            {
                _metrics?.Deploy("conflict");
                return new DeployOutcome(409, null, new ApiError($"service \"{spec.Name}\" was not deployed: {outcome.Conflict}; run `vcluster status` and try again"));
            }
            if (!result.Succeeded)
            {
                _metrics?.Deploy("unplaceable");
                Log.PlacementFailed(_logger, spec.Name, result.Failure!.Message);
                await RecordAsync(EventKinds.ServiceRejected, spec.Name, result.Failure.Message, ct, spec.Name);
                return new DeployOutcome(422, null, new ApiError(result.Failure.Message, null, result.Failure));
            }

            var instances = outcome!.Placed!;
            var snapshot = Term is { } term ? await term.State.SnapshotAsync(ct) : null;
            var where = string.Join(", ", instances.Select(i => $"{i.Id} on {snapshot?.Nodes.GetValueOrDefault(i.NodeId)?.Name ?? i.NodeId}"));
            await RecordAsync(EventKinds.ServiceDeployed, spec.Name, $"deployed {instances.Count} instance(s): {where}", ct, spec.Name);
            Log.Deployed(_logger, spec.Name, instances.Count);
            _metrics?.Deploy("created");
            _metrics?.Placed(instances.Count, "deploy");
        }
        finally
        {
            _placementLock.Release();
        }
        return new DeployOutcome(201, await GetServiceViewAsync(spec.Name, ct), null);
    }

    /// <summary>The spec with its secrets opened; on a value this cluster cannot open (a damaged store), without them, logged.</summary>
    private async Task<ServiceSpec> OpenSecretsAsync(ServiceSpec spec, CancellationToken ct)
    {
        try
        {
            return await _secrets.OpenAsync(spec, ct);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or FormatException)
        {
            Log.SecretsUnreadable(_logger, spec.Name, e.Message);
            return spec with { Secrets = new Dictionary<string, string>() };
        }
    }

    /// <summary>Opened specs by sealed spec (the record's identity is its version: a changed service is a new record).</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<ServiceSpec, ServiceSpec> _openedSpecs = new();

    /// <summary>
    /// The spec with its secrets opened for an assignment, opened once per stored spec and kept for as long as that
    /// record lives (every heartbeat answers with the specs of every instance on its node). A spec that cannot be
    /// opened is not kept: the next heartbeat tries again.
    /// </summary>
    private async ValueTask<ServiceSpec> OpenedSpecAsync(ServiceSpec spec, CancellationToken ct)
    {
        if (_openedSpecs.TryGetValue(spec, out var opened)) return opened;
        try
        {
            opened = await _secrets.OpenAsync(spec, ct);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or FormatException)
        {
            Log.SecretsUnreadable(_logger, spec.Name, e.Message);
            return spec with { Secrets = new Dictionary<string, string>() };
        }
        _openedSpecs.AddOrUpdate(spec, opened);
        return opened;
    }

    /// <summary>Removes a service; agents stop its instances on their next heartbeat. False when unknown.</summary>
    public async Task<bool> RemoveAsync(string name, CancellationToken ct)
    {
        await _placementLock.WaitAsync(ct);
        try
        {
            if (!await Store.DeleteServiceAsync(name, ct)) return false;
        }
        finally
        {
            _placementLock.Release();
        }
        await RecordAsync(EventKinds.ServiceRemoved, name, "service removed; its instances are being stopped", ct, name);
        return true;
    }
}
