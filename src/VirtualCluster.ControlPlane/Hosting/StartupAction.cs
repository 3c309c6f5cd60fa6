using Microsoft.Extensions.Hosting;

namespace VirtualCluster.ControlPlane;

/// <summary>Runs one action when the host starts.</summary>
internal sealed class StartupAction(Action action) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        action();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
