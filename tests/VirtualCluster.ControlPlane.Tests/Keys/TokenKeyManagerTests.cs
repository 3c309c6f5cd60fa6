using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.ControlPlane.Keys;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Tests.Keys;

/// <summary>
/// The key store of the control plane: private keys on disk (permissions), the published set in a real store (SQLite),
/// rotation on a schedule and on demand with a fake clock, retirement after the grace, and two control planes rotating
/// at once on the same store.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TokenKeyManagerTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("vc-keys15-manager-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<string> _logs = [];
    private EmbeddedClusterState _state = null!;

    public async Task InitializeAsync() => _state = await EmbeddedClusterState.OpenAsync(Path.Combine(_root, "store"));

    public async Task DisposeAsync()
    {
        await _state.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private TokenKeyManager Manager(string name, TokenKeyOptions? options = null) =>
        new(_state.Store, Path.Combine(_root, name), options ?? new TokenKeyOptions(), TokenService.MaxUserTokenLifetime, _time, new ListLogger(_logs));

    private string KeyFolder(string name) => Path.Combine(_root, name, SigningKeyFiles.FolderName);

    [Fact]
    public async Task First_start_makes_an_owner_only_key_and_publishes_only_its_public_half()
    {
        var keys = Manager("cp-a");
        await keys.StartAsync();

        var kid = keys.Ring.SigningKeyId!;
        var file = Path.Combine(KeyFolder("cp-a"), kid + ".pem");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(KeyFolder("cp-a")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var stored = await _state.Store.GetSettingAsync(TokenKeySet.SettingKey);
        Assert.Contains(kid, stored, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE", stored, StringComparison.Ordinal);
        var set = await keys.ReadAsync();
        Assert.Equal(kid, Assert.Single(set.Keys).Kid);
        Assert.Null(set.Keys[0].RetireAfter);
        Assert.Null(set.LegacyUntil); // a new cluster has no HMAC key to honour

        // A restart signs with the same key (tokens it issued stay valid) and makes no new one.
        var again = Manager("cp-a");
        await again.StartAsync();
        Assert.Equal(kid, again.Ring.SigningKeyId);
        Assert.Single((await again.ReadAsync()).Keys);
    }

    [Fact]
    public async Task Wider_permissions_are_fixed_and_logged_and_a_key_others_could_read_is_retired_at_once()
    {
        var first = Manager("cp-a");
        await first.StartAsync();
        var exposedKid = first.Ring.SigningKeyId!;
        var token = new TokenService(first.Ring, timeProvider: _time).Issue("admin", TokenRoles.Admin, TimeSpan.FromHours(1));
        File.SetUnixFileMode(KeyFolder("cp-a"), (UnixFileMode)Convert.ToInt32("755", 8));
        File.SetUnixFileMode(Path.Combine(KeyFolder("cp-a"), exposedKid + ".pem"), (UnixFileMode)Convert.ToInt32("644", 8));

        var restarted = Manager("cp-a");
        await restarted.StartAsync();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(KeyFolder("cp-a")));
        Assert.Contains(_logs, l => l.Contains("was open to group or others (mode 0755)", StringComparison.Ordinal));
        Assert.Contains(_logs, l => l.Contains("was readable by group or others (mode 0644)", StringComparison.Ordinal));
        Assert.NotEqual(exposedKid, restarted.Ring.SigningKeyId);
        Assert.False(File.Exists(Path.Combine(KeyFolder("cp-a"), exposedKid + ".pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(KeyFolder("cp-a"), restarted.Ring.SigningKeyId + ".pem")));
        Assert.Equal(_time.GetUtcNow(), (await restarted.ReadAsync()).Keys.Single(k => k.Kid == exposedKid).RetireAfter);
        Assert.Contains("rotated out and retired", (await new TokenService(restarted.Ring, timeProvider: _time).ValidateAsync(token)).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_file_that_is_not_a_key_is_set_aside_and_logged_not_a_crash()
    {
        Directory.CreateDirectory(KeyFolder("cp-a"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await File.WriteAllTextAsync(Path.Combine(KeyFolder("cp-a"), "junk.pem"), "-----BEGIN NOTHING-----");

        var keys = Manager("cp-a");
        await keys.StartAsync();

        Assert.NotNull(keys.Ring.SigningKeyId);
        Assert.True(File.Exists(Path.Combine(KeyFolder("cp-a"), "junk.pem.bad")));
        Assert.Contains(_logs, l => l.Contains("cannot be read", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Scheduled_rotation_keeps_old_tokens_valid_through_the_grace_then_retires_the_key()
    {
        var keys = Manager("cp-a", new TokenKeyOptions { RotateEvery = TimeSpan.FromDays(30), RetireMargin = TimeSpan.FromDays(1) });
        await keys.StartAsync();
        var tokens = new TokenService(keys.Ring, timeProvider: _time);
        var oldKid = keys.Ring.SigningKeyId!;
        var oldToken = tokens.Issue("admin", TokenRoles.Admin); // never expires: only retirement ends it

        _time.Advance(TimeSpan.FromDays(29));
        Assert.False(await keys.TickAsync()); // not due yet
        _time.Advance(TimeSpan.FromDays(1));
        Assert.True(await keys.TickAsync());

        var newKid = keys.Ring.SigningKeyId!;
        Assert.NotEqual(oldKid, newKid);
        Assert.Equal(newKid, new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(tokens.Issue("admin", TokenRoles.Admin)).Kid);
        Assert.False(File.Exists(Path.Combine(KeyFolder("cp-a"), oldKid + ".pem"))); // the private half is gone at once
        var retireAfter = (await keys.ReadAsync()).Keys.Single(k => k.Kid == oldKid).RetireAfter;
        Assert.Equal(_time.GetUtcNow() + TokenService.MaxUserTokenLifetime + TimeSpan.FromDays(1), retireAfter);
        Assert.True((await tokens.ValidateAsync(oldToken)).IsValid, "old tokens stay valid through the grace");

        _time.Advance(retireAfter!.Value - _time.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.True((await tokens.ValidateAsync(oldToken)).IsValid);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains($"key \"{oldKid}\", rotated out and retired", (await tokens.ValidateAsync(oldToken)).Error, StringComparison.Ordinal);
        Assert.DoesNotContain(keys.Ring.ActiveKeys(_time.GetUtcNow()), k => k.KeyId == oldKid);

        // A week after retirement the key drops out of the set at the next rotation.
        _time.Advance(TokenKeyManager.ListRetiredFor);
        await keys.RotateAsync(everywhere: false);
        Assert.DoesNotContain((await keys.ReadAsync()).Keys, k => k.Kid == oldKid);
    }

    [Fact]
    public async Task A_rotation_asked_for_everywhere_is_followed_by_every_control_plane_at_its_next_refresh()
    {
        var a = Manager("cp-a");
        var b = Manager("cp-b");
        await a.StartAsync();
        await b.StartAsync();
        var (aOld, bOld) = (a.Ring.SigningKeyId!, b.Ring.SigningKeyId!);
        var fromB = new TokenService(b.Ring, timeProvider: _time).Issue("admin", TokenRoles.Admin, TimeSpan.FromHours(1));
        // A validates B's tokens: it reads B's key from the store when it first meets the kid.
        Assert.True((await new TokenService(a.Ring, timeProvider: _time).ValidateAsync(fromB)).IsValid);

        _time.Advance(TimeSpan.FromSeconds(1));
        await a.RotateAsync(everywhere: true);
        Assert.NotEqual(aOld, a.Ring.SigningKeyId);
        Assert.Equal(bOld, b.Ring.SigningKeyId); // B has not looked yet

        Assert.True(await b.TickAsync());
        Assert.NotEqual(bOld, b.Ring.SigningKeyId);
        Assert.False(await b.TickAsync()); // one rotation per request
        Assert.False(await a.TickAsync());
        var set = await a.ReadAsync();
        Assert.Equal(4, set.Keys.Count);
        Assert.All(set.Keys.Where(k => k.Kid == aOld || k.Kid == bOld), k => Assert.NotNull(k.RetireAfter));
        Assert.True((await new TokenService(a.Ring, timeProvider: _time).ValidateAsync(fromB)).IsValid);
    }

    [Fact]
    public async Task Retiring_another_control_planes_key_refuses_its_tokens_at_once_and_that_control_plane_replaces_it_at_its_next_refresh()
    {
        var a = Manager("cp-a");
        var b = Manager("cp-b");
        await a.StartAsync();
        await b.StartAsync();
        var bOld = b.Ring.SigningKeyId!;
        var fromB = new TokenService(b.Ring, timeProvider: _time).Issue("admin", TokenRoles.Admin, TimeSpan.FromHours(1));
        var checkOnA = new TokenService(a.Ring, timeProvider: _time) { CacheValidations = true };
        Assert.True((await checkOnA.ValidateAsync(fromB)).IsValid); // positive control (and now in A's cache)

        Assert.Null(await a.RetireAsync("no-such-kid"));
        Assert.NotNull(await a.RetireAsync(bOld));

        // A refuses at once, its validation cache notwithstanding; no clock moved.
        var refused = await checkOnA.ValidateAsync(fromB);
        Assert.False(refused.IsValid);
        Assert.Contains("retired", refused.Error, StringComparison.Ordinal);
        Assert.Contains(_logs, l => l.Contains($"Retired token key {bOld} at once", StringComparison.Ordinal));

        // B still signs with the retired key until it looks; at its next refresh it makes a new one.
        Assert.Equal(bOld, b.Ring.SigningKeyId);
        Assert.True(await b.TickAsync());
        Assert.NotEqual(bOld, b.Ring.SigningKeyId);
        Assert.False((await new TokenService(b.Ring, timeProvider: _time).ValidateAsync(fromB)).IsValid);
        var fresh = new TokenService(b.Ring, timeProvider: _time).Issue("admin", TokenRoles.Admin, TimeSpan.FromHours(1));
        await a.ReloadAsync(); // A's next refresh (its read on an unknown kid is rate-limited, and this clock does not move)
        Assert.True((await checkOnA.ValidateAsync(fresh)).IsValid);
        Assert.False(await b.TickAsync()); // one rotation, not one per tick
        var set = await a.ReadAsync();
        Assert.Equal(_time.GetUtcNow(), set.Keys.Single(k => k.Kid == bOld).RetireAfter);
    }

    [Fact]
    public async Task Two_control_planes_rotating_at_once_on_one_store_end_with_one_consistent_set()
    {
        var a = Manager("cp-a");
        var b = Manager("cp-b");
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        var started = (await a.ReadAsync()).Keys.Select(k => k.Kid).ToHashSet();
        Assert.Equal(2, started.Count);

        for (var round = 0; round < 10; round++)
            await Task.WhenAll(Task.Run(() => a.RotateAsync(everywhere: false)), Task.Run(() => b.RotateAsync(everywhere: false)));

        var set = await a.ReadAsync();
        // Every key either control plane ever made is in the set (no compare-and-set lost one): 2 at start + 20 rotations.
        Assert.Equal(22, set.Keys.Count);
        Assert.Equal(set.Keys.Count, set.Keys.Select(k => k.Kid).Distinct().Count());
        // Exactly the two signing keys are not retiring, and they are the ones the control planes sign with.
        var signing = set.Keys.Where(k => k.RetireAfter is null).Select(k => k.Kid).Order().ToArray();
        Assert.Equal(new[] { a.Ring.SigningKeyId!, b.Ring.SigningKeyId! }.Order().ToArray(), signing);
        // Each keeps only its signing key on disk.
        Assert.Equal([a.Ring.SigningKeyId + ".pem"], Directory.GetFiles(KeyFolder("cp-a")).Select(Path.GetFileName));
        Assert.Equal([b.Ring.SigningKeyId + ".pem"], Directory.GetFiles(KeyFolder("cp-b")).Select(Path.GetFileName));
        // And both validate each other's newest tokens after a reload.
        await a.ReloadAsync();
        await b.ReloadAsync();
        Assert.True((await new TokenService(a.Ring, timeProvider: _time).ValidateAsync(new TokenService(b.Ring, timeProvider: _time).Issue("x", TokenRoles.Admin))).IsValid);
    }

    [Fact]
    public async Task Options_are_validated_with_the_field_and_the_fix()
    {
        var result = new TokenKeyOptionsValidator().Validate(null, new TokenKeyOptions
        {
            RotateEvery = TimeSpan.FromMinutes(5), RetireMargin = TimeSpan.FromDays(-1), RefreshInterval = TimeSpan.Zero,
        });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("TokenKeyOptions.RotateEvery", StringComparison.Ordinal) && f.Contains("from 1 hour to 365 days", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("TokenKeyOptions.RetireMargin", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("TokenKeyOptions.RefreshInterval", StringComparison.Ordinal));
        Assert.True(new TokenKeyOptionsValidator().Validate(null, new TokenKeyOptions()).Succeeded);
        await Task.CompletedTask;
    }

    private sealed class ListLogger(List<string> lines) : ILogger<TokenKeyManager>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (lines) lines.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
