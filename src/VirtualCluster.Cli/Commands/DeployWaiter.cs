using Spectre.Console;
using VirtualCluster.Api;
using VirtualCluster.Cli.Http;
using VirtualCluster.Cli.Output;

namespace VirtualCluster.Cli.Commands;

/// <summary>Polls a freshly deployed service until all its instances run, one fails, or time runs out.</summary>
internal static class DeployWaiter
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    private enum Outcome { Running, Failed, TimedOut }

    /// <summary>
    /// Failures seen in the event log. The control plane replaces a failed instance (and deletes its record) within
    /// about a second, so polling the service alone can miss the failure; the event log keeps it.
    /// </summary>
    private sealed class FailureWatch(ControlPlaneClient client, string service)
    {
        private readonly HashSet<string> _ours = new(StringComparer.Ordinal);
        private long _after;
        private bool _unsupported;

        public ClusterEvent? Failure { get; private set; }

        public async Task<bool> FailedAsync(ServiceView view, CancellationToken ct)
        {
            foreach (var i in view.Instances) _ours.Add(i.Instance.Id);
            if (_unsupported) return false;
            try
            {
                var events = await client.GetEventsAsync(new EventQuery { Service = service, Kind = EventKinds.InstanceFailed, AfterSequence = _after, Limit = 500 }, ct);
                if (events.Count > 0) _after = events[^1].Sequence;
                Failure ??= events.FirstOrDefault(e => e.Instance is { } id && _ours.Contains(id));
            }
            catch (ApiException)
            {
                _unsupported = true; // a control plane without the event query: rely on the instance states
            }
            return Failure is not null;
        }
    }

    public static async Task<int> WaitAsync(CliContext context, ControlPlaneClient client, ServiceView initial, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var failures = new FailureWatch(client, initial.Spec.Name);
        (Outcome Outcome, ServiceView View) result;
        if (context.IsInteractive)
        {
            result = await context.OutConsole.Status()
                .Spinner(Spinner.Known.Dots)
                .StartAsync("waiting for instances", status =>
                    PollAsync(client, initial, failures, timeout, text => status.Status(Markup.Escape(text)), cancellationToken));
        }
        else
        {
            // Redirected output gets one line per change instead of a spinner.
            string? last = null;
            result = await PollAsync(client, initial, failures, timeout, text =>
            {
                if (text == last) return;
                context.Out.WriteLine(text);
                last = text;
            }, cancellationToken);
        }

        var (outcome, view) = result;
        var name = view.Spec.Name;
        switch (outcome)
        {
            case Outcome.Running:
                context.Out.WriteLine($"service \"{name}\" is running: {view.Running}/{view.Desired}");
                var running = view.Instances.Where(i => i.Instance.State == InstanceState.Running).ToList();
                if (running.Count > 0) context.OutConsole.Write(Tables.Instances(running));
                DeployCommand.WriteStableUrl(context, view);
                return ExitCodes.Ok;

            case Outcome.Failed:
                var shown = false;
                foreach (var failed in view.Instances.Where(i => i.Instance.State == InstanceState.Failed))
                {
                    var reason = string.IsNullOrWhiteSpace(failed.Instance.Reason) ? "no reason given" : failed.Instance.Reason;
                    context.WriteError($"instance {failed.Instance.Id} of \"{name}\" on {failed.NodeName} failed: {reason}");
                    shown = true;
                }
                if (!shown && failures.Failure is { } failure)
                {
                    context.WriteError($"instance of \"{name}\" failed: {failure.Message}");
                    context.Error.WriteLine($"  the control plane replaces failed instances by the service's failover policy; follow with `vcluster events --service {name} --follow`, or remove it with `vcluster rm {name}`");
                }
                return ExitCodes.Failed;

            default:
                context.WriteError($"timed out after {Duration.Format(timeout)} waiting for \"{name}\": {view.Running}/{view.Desired} running; still pending:");
                var pending = view.Instances.Where(i => i.Instance.State != InstanceState.Running && !i.Instance.IsTerminal).ToList();
                foreach (var instance in pending)
                    context.Error.WriteLine($"  {instance.Instance.Id} on {instance.NodeName}: {Format.StateWithReason(instance.Instance)}");
                var active = view.Instances.Count(i => !i.Instance.IsTerminal);
                if (view.Desired > active) context.Error.WriteLine($"  {view.Desired - active} instance(s) not placed yet");
                return ExitCodes.Failed;
        }
    }

    private static async Task<(Outcome, ServiceView)> PollAsync(
        ControlPlaneClient client, ServiceView view, FailureWatch failures, TimeSpan timeout, Action<string> report, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                if (view.Instances.Any(i => i.Instance.State == InstanceState.Failed)) return (Outcome.Failed, view);
                if (view.Running == view.Desired) return (Outcome.Running, view);
                if (await failures.FailedAsync(view, deadline.Token)) return (Outcome.Failed, view);
                report(Progress(view));
                await Task.Delay(PollInterval, deadline.Token);
                view = await client.GetServiceAsync(view.Spec.Name, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return (Outcome.TimedOut, view);
        }
    }

    /// <summary>"1/2 running (1 starting): pulling image app:1: 45%".</summary>
    private static string Progress(ServiceView view)
    {
        var others = view.Instances
            .Where(i => i.Instance.State != InstanceState.Running && i.Instance.State != InstanceState.Stopped)
            .GroupBy(i => i.Instance.State)
            .OrderBy(g => g.Key)
            .Select(g => $"{g.Count()} {Format.Name(g.Key)}")
            .ToList();
        var text = $"{view.Running}/{view.Desired} running";
        if (others.Count > 0) text += $" ({string.Join(", ", others)})";
        // What starting instances are busy with, e.g. "pulling image nginx:1.27: 45%".
        var busy = view.Instances
            .Where(i => i.Instance.State == InstanceState.Starting && !string.IsNullOrWhiteSpace(i.Instance.Reason))
            .Select(i => i.Instance.Reason)
            .Distinct(StringComparer.Ordinal)
            .Take(2)
            .ToList();
        return busy.Count == 0 ? text : $"{text}: {string.Join("; ", busy)}";
    }
}
