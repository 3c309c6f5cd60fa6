using System.Diagnostics;
using System.Net;
using System.Text;

namespace VirtualCluster.Cli.Http;

/// <summary>
/// Sends each request to one of several control planes (a highly available cluster): first to the one that answered
/// last, then on down the list when one cannot be reached or answers 503 (a follower while nobody leads). While some
/// answer 503 the whole list is tried again, honouring Retry-After, within <see cref="RetryLimits.Budget"/>.
/// Only GET is sent again after it may have reached a server; other methods change state, so they move on only when
/// the request surely was not received (no connection) or was refused with 503.
/// </summary>
/// <param name="sent">Bytes written by the real handler; null with a test handler, whose exceptions are then taken at their word.</param>
internal sealed class ServerFailover(IReadOnlyList<ServerAddress> servers, TextWriter notes, RetryLimits limits, SentBytes? sent)
{
    private int _preferred;

    /// <summary>The server that answered last (the first one before any answer), for messages about its answers.</summary>
    public ServerAddress Current => servers[_preferred];

    /// <summary>Sends the request; returns the first answer that is not 503, or throws a <see cref="CliException"/> naming every server tried.</summary>
    /// <param name="send">Sends one attempt to the given server (a fresh request message each time).</param>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, Func<ServerAddress, CancellationToken, Task<HttpResponseMessage>> send,
        TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        var mayResend = method == HttpMethod.Get;
        var what = $"{method.Method} /{path.Split('?')[0]}";
        var failures = new Dictionary<ServerAddress, string>();
        var started = Stopwatch.GetTimestamp();
        var announcedWait = false;
        for (var round = 0; ; round++)
        {
            TimeSpan? retryAfter = null;
            var unavailable = false;
            for (var i = 0; i < servers.Count; i++)
            {
                if (round > 0 && Stopwatch.GetElapsedTime(started) >= limits.Budget) break;
                var index = (_preferred + i) % servers.Count;
                var server = servers[index];
                var attempt = await TryAsync(server, send, requestTimeout, cancellationToken);
                if (attempt.Response is { StatusCode: not HttpStatusCode.ServiceUnavailable } answer)
                {
                    _preferred = index;
                    return answer;
                }

                string failure;
                if (attempt.Response is { } busy)
                {
                    using (busy)
                    {
                        unavailable = true;
                        retryAfter = Max(retryAfter, RetryAfter(busy));
                        failure = $"{Busy}{await ReasonAsync(busy, cancellationToken)}";
                    }
                }
                else
                {
                    failure = attempt.Failure!;
                    if (attempt.MaybeReceived && !mayResend && servers.Count > 1)
                    {
                        // The server may have carried the request out; sending it elsewhere could do it twice.
                        throw new CliException(ExitCodes.Unreachable,
                            $"the control plane at {server} failed during {what}: {failure}; it may have received the request, "
                            + "so vcluster did not send it again: check the cluster's state (vcluster status) before retrying");
                    }
                }
                failures[server] = failure;
                if (round == 0 && i < servers.Count - 1)
                    notes.WriteLine($"control plane {server} {Short(attempt)}, trying {servers[(index + 1) % servers.Count]}");
            }

            // Unreachable servers stay unreachable for a while; only a 503 (an election) is worth waiting for.
            var delay = limits.Delay(retryAfter);
            if (!unavailable || Stopwatch.GetElapsedTime(started) + delay > limits.Budget) throw AllFailed(what, failures, started);
            if (!announcedWait)
            {
                notes.WriteLine($"no control plane leads right now; retrying for up to {Duration.Format(limits.Budget)}");
                announcedWait = true;
            }
            await Task.Delay(delay, cancellationToken);
        }
    }

    private sealed record Attempt(HttpResponseMessage? Response, string? Failure, bool MaybeReceived);

    private async Task<Attempt> TryAsync(ServerAddress server, Func<ServerAddress, CancellationToken, Task<HttpResponseMessage>> send,
        TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        var sentBefore = sent?.Count ?? 0;
        // Nothing written means nothing received, whatever the exception says; something written may have been received.
        bool MaybeReceived(bool guess) => sent is null ? guess : sent.Count != sentBefore;
        // Our own timeout instead of HttpClient.Timeout, so a connect timeout (nothing sent) can be told from a
        // slow answer (maybe received).
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(requestTimeout);
        try
        {
            return new Attempt(await send(server, timeout.Token), null, false);
        }
        catch (HttpRequestException e)
        {
            var notSent = e.HttpRequestError is HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError
                or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError;
            var failure = e.HttpRequestError == HttpRequestError.SecureConnectionError
                ? $"{e.Message} {e.InnerException?.Message} (a control plane with the cluster's own CA is trusted with --ca-cert <its data directory>/ca.crt, {ConnectionSettings.CaCertVariable}, or \"caCert\" in the config file)"
                : e.Message;
            return new Attempt(null, failure, MaybeReceived(!notSent));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            return new Attempt(null, $"no answer within {Duration.Format(requestTimeout)}", MaybeReceived(true));
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && e.InnerException is TimeoutException)
        {
            // Neither our timeout nor the caller cancelled: SocketsHttpHandler.ConnectTimeout, the connection was never made
            // (HttpClient reports it as a TaskCanceledException around a TimeoutException).
            return new Attempt(null, $"no connection within {Duration.Format(ControlPlaneClient.ConnectTimeout)}", MaybeReceived(false));
        }
    }

    private static string Short(Attempt attempt) =>
        attempt.Response is not null ? "has no leader (503)" : attempt.MaybeReceived ? $"failed ({attempt.Failure})" : "unreachable";

    private const string Busy = "answered 503: ";

    private CliException AllFailed(string what, Dictionary<ServerAddress, string> failures, long started)
    {
        var busy = failures.Values.Any(f => f.StartsWith(Busy, StringComparison.Ordinal));
        if (servers.Count == 1 && !busy)
        {
            return new CliException(ExitCodes.Unreachable,
                $"cannot reach the control plane at {servers[0]}: {failures[servers[0]]}; is it running? Start one with "
                + "`dotnet run --project samples/VirtualCluster.Host.Console -- local`, or point vcluster elsewhere with --server / VCLUSTER_SERVER");
        }
        var message = new StringBuilder(busy
            ? $"no control plane could serve {what} within {Duration.Format(Stopwatch.GetElapsedTime(started))}:"
            : $"cannot reach any of the {servers.Count} control planes for {what}:");
        foreach (var server in servers.Where(failures.ContainsKey))
            message.Append($"{Environment.NewLine}  {server}: {failures[server]}");
        message.Append(Environment.NewLine).Append(busy
            ? "a leader election may still be under way (GET /v1/leader on a control plane says who leads); try again in a moment"
            : "are they running? Point vcluster at others with --server / VCLUSTER_SERVER");
        return new CliException(ExitCodes.Unreachable, message.ToString());
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow,
        _ => null,
    };

    private static TimeSpan? Max(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a > b ? a : b;

    private static async Task<string> ReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        (await ControlPlaneClient.ToApiExceptionAsync(response, cancellationToken)).Message;
}
