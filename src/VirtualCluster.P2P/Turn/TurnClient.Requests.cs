using System.Net;
using Microsoft.Extensions.Logging;
using VirtualCluster.P2P.Stun;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Turn;

public sealed partial class TurnClient
{
    /// <summary>
    /// Sends an authenticated request (RFC 8489 §9.2.3): the first goes without credentials when no nonce is known yet;
    /// a 401 carrying REALM and NONCE is answered once with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY; a 438 Stale
    /// Nonce is retried with the new NONCE.
    /// </summary>
    private async Task<StunMessage> RequestAsync(StunMethod method, Action<StunMessageBuilder> addAttributes, CancellationToken cancellationToken)
    {
        var challenged = false;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            string? realm, nonce;
            byte[]? key;
            lock (_gate)
            {
                (realm, nonce, key) = (_realm, _nonce, _key);
            }
            var builder = new StunMessageBuilder(method, StunClass.Request, StunTransactionId.New());
            addAttributes(builder);
            if (_options.Software is { } software) builder.Add(StunAttributeType.Software, software);
            if (nonce is not null && key is not null)
            {
                builder.Add(StunAttributeType.Username, _username).Add(StunAttributeType.Realm, realm!).Add(StunAttributeType.Nonce, nonce);
                builder.AddMessageIntegrity(key);
            }
            var request = builder.AddFingerprintAndBuild();
            var result = await _mux.Transactions.Start(builder.TransactionId, () => _mux.Send(request, Server), _options.Retransmission, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (result.Response is not { } response) throw new TurnException(0, $"{method}: no response from {Server}");
            if (response.Class == StunClass.SuccessResponse)
            {
                if (key is not null && response.HasIntegrity && !response.VerifyIntegrity(key))
                    throw new TurnException(0, $"{method}: the response's MESSAGE-INTEGRITY does not match our credentials");
                return response;
            }
            if (!response.TryGetError(out var code, out var reason)) throw new TurnException(0, $"{method}: error response without ERROR-CODE");
            var newNonce = response.GetString(StunAttributeType.Nonce);
            var newRealm = response.GetString(StunAttributeType.Realm);
            if (code == 401 && !challenged && nonce is null && newNonce is not null && newRealm is not null)
            {
                challenged = true;
                SetChallenge(newRealm, newNonce);
                continue;
            }
            if (code == 438 && newNonce is not null)
            {
                Interlocked.Increment(ref _staleNonceRetries);
                Log.StaleNonce(_logger, Server, method.ToString());
                SetChallenge(newRealm ?? realm ?? "", newNonce);
                continue;
            }
            if (code == 401 && nonce is not null && !challenged && newNonce is not null && newNonce != nonce && newRealm is not null)
            {
                // the server forgot our nonce (e.g. restarted): one fresh round
                challenged = true;
                SetChallenge(newRealm, newNonce);
                continue;
            }
            Log.RequestFailed(_logger, Server, method.ToString(), code, reason);
            throw new TurnException(code, $"{method} failed: {code} {reason}");
        }
        throw new TurnException(0, $"{method}: gave up after repeated authentication challenges");
    }

    private void SetChallenge(string realm, string nonce)
    {
        lock (_gate)
        {
            if (_realm != realm || _key is null) _key = StunCredentials.LongTermKey(_username, realm, _password);
            _realm = realm;
            _nonce = nonce;
        }
    }

    private async Task InstallPermissionAsync(IPAddress peer)
    {
        try
        {
            await CreatePermissionAsync(peer).ConfigureAwait(false);
        }
        catch (TurnException e)
        {
            lock (_gate)
            {
                var permission = PermissionFor(peer);
                permission.Pending = false;
                permission.Queue = null;
            }
            Log.PermissionFailed(_logger, Server, peer, e.Message);
        }
    }

    private Permission PermissionFor(IPAddress peer)
    {
        if (!_permissions.TryGetValue(peer, out var permission))
        {
            permission = new Permission();
            _permissions[peer] = permission;
        }
        return permission;
    }

    /// <summary>Refreshes what is about to expire: the allocation a minute before, permissions and channels in use at 4/5 of their life.</summary>
    private void Maintain()
    {
        var refreshAllocation = false;
        List<IPAddress> permissions = [];
        List<IPEndPoint> channels = [];
        lock (_gate)
        {
            if (_disposed || RelayedEndPoint is null) return;
            var now = _time.GetUtcNow();
            refreshAllocation = _expires - now <= TimeSpan.FromMinutes(1) + _options.MaintenanceInterval;
            foreach (var (peer, p) in _permissions)
            {
                if (p.Installed is { } installed && now - installed >= PermissionLifetime * 0.8 - _options.MaintenanceInterval
                    && p.LastUsed is { } used && now - used < PermissionLifetime)
                    permissions.Add(peer);
            }
            foreach (var c in _channelsByPeer.Values)
            {
                if (c.Bound is { } bound && now - bound >= ChannelLifetime * 0.8 - _options.MaintenanceInterval && now - c.LastUsed < ChannelLifetime)
                    channels.Add(c.Peer);
            }
        }
        if (refreshAllocation) _ = Background(() => RefreshAsync(_options.Lifetime), "Refresh");
        foreach (var peer in permissions) _ = Background(() => CreatePermissionAsync(peer), "CreatePermission");
        foreach (var peer in channels) _ = Background(() => BindChannelAsync(peer), "ChannelBind");
    }

    private async Task Background(Func<Task> action, string what)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (TurnException e)
        {
            Log.RequestFailed(_logger, Server, what, e.Code, e.Message);
        }
    }

    void ITurnServerSink.OnServerMessage(StunMessage message)
    {
        if (message.Method == StunMethod.Data && message.Class == StunClass.Indication
            && message.TryGetXorAddress(StunAttributeType.XorPeerAddress, out var peer)
            && message.TryGetAttribute(StunAttributeType.Data, out var data))
        {
            Interlocked.Increment(ref _dataIndications);
            DataReceived?.Invoke(data, peer);
            return;
        }
        _mux.Drop(DropReason.Unexpected);
    }

    void ITurnServerSink.OnChannelData(ReadOnlySpan<byte> datagram)
    {
        if (!ChannelData.TryParse(datagram, out var number, out var data))
        {
            _mux.Drop(DropReason.MalformedChannelData);
            return;
        }
        IPEndPoint? peer;
        lock (_gate)
        {
            peer = _channelsByNumber.TryGetValue(number, out var channel) ? channel.Peer : null;
        }
        if (peer is null)
        {
            _mux.Drop(DropReason.Unexpected);
            return;
        }
        Interlocked.Increment(ref _channelData);
        DataReceived?.Invoke(data, peer);
    }

    private sealed class Permission
    {
        public DateTimeOffset? Installed { get; set; }
        public DateTimeOffset? LastUsed { get; set; }
        public bool Pending { get; set; }
        public List<(byte[] Data, IPEndPoint Peer)>? Queue { get; set; }
    }

    private sealed class Channel(ushort number, IPEndPoint peer)
    {
        public ushort Number { get; } = number;
        public IPEndPoint Peer { get; } = peer;
        public DateTimeOffset? Bound { get; set; }
        public DateTimeOffset LastUsed { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Information, "TURN allocation on {Server}: relayed address {Relayed}, lifetime {Lifetime} s")]
        public static partial void Allocated(ILogger logger, IPEndPoint server, IPEndPoint relayed, int lifetime);

        [LoggerMessage(2002, LogLevel.Debug, "TURN {Server}: stale nonce on {Method}, retrying with the new one")]
        public static partial void StaleNonce(ILogger logger, IPEndPoint server, string method);

        [LoggerMessage(2003, LogLevel.Warning, "TURN {Server}: {Method} failed with {Code}: {Reason}")]
        public static partial void RequestFailed(ILogger logger, IPEndPoint server, string method, int code, string reason);

        [LoggerMessage(2004, LogLevel.Warning, "TURN {Server}: permission for {Peer} failed: {Reason}")]
        public static partial void PermissionFailed(ILogger logger, IPEndPoint server, IPAddress peer, string reason);
    }
}
