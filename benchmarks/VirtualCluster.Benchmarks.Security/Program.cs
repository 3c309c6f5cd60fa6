// Token validation and issuing per second: ES256 (the cluster's tokens now) against HS256 (the tokens of releases
// before ES256, checked through the same TokenService on its legacy path: the same parser, claims checks and handler
// as the HMAC-only code did), measured in one run, in interleaved rounds so machine load falls on both alike.
//
//   dotnet artifacts/bin/VirtualCluster.Benchmarks.Security/release/VirtualCluster.Benchmarks.Security.dll [--seconds 2] [--rounds 5] [--threads N]
using System.Diagnostics;
using System.Globalization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using VirtualCluster.Security;

var seconds = Arg("--seconds", 2.0);
var rounds = (int)Arg("--rounds", 5.0);
var threads = (int)Arg("--threads", Environment.ProcessorCount);
if (seconds is <= 0 or > 60 || rounds is < 1 or > 100 || threads is < 1 or > 256)
{
    Console.Error.WriteLine("error: --seconds must be in (0, 60], --rounds in [1, 100], --threads in [1, 256]");
    return 2;
}

var now = DateTimeOffset.UtcNow;
var ring = TokenKeyRing.CreateEphemeral();
var legacyKey = TokenService.CreateKey();
ring.SetLegacy(legacyKey, now.AddDays(100));
// Full checks every time (a token seen for the first time), and the service as the control plane runs it, which
// remembers tokens it checked (an agent's machine token at every heartbeat).
var tokens = new TokenService(ring, audience: "vc-bench") { CacheValidations = false };
var remembering = new TokenService(ring, audience: "vc-bench");
var es256 = tokens.Issue("admin", TokenRoles.Admin, TimeSpan.FromHours(1));
var hmac = new SigningCredentials(new SymmetricSecurityKey(legacyKey), SecurityAlgorithms.HmacSha256);
var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
string IssueHs256() => handler.CreateToken(new SecurityTokenDescriptor
{
    Issuer = TokenService.DefaultIssuer,
    Audience = "vc-bench",
    IssuedAt = now.UtcDateTime,
    NotBefore = now.UtcDateTime,
    Expires = now.AddHours(1).UtcDateTime,
    SigningCredentials = hmac,
    Claims = new Dictionary<string, object> { ["sub"] = "admin", ["role"] = TokenRoles.Admin, ["jti"] = Guid.NewGuid().ToString("N") },
});
var hs256 = IssueHs256();
foreach (var token in new[] { es256, hs256 })
    if (!(await tokens.ValidateAsync(token)).IsValid) throw new InvalidOperationException("a benchmark token does not validate");

var cases = new (string Operation, string Alg, Func<Task> Run)[]
{
    ("validate", "ES256", async () => { if (!(await tokens.ValidateAsync(es256)).IsValid) throw new InvalidOperationException(); }),
    ("validate", "HS256", async () => { if (!(await tokens.ValidateAsync(hs256)).IsValid) throw new InvalidOperationException(); }),
    ("validate again", "ES256", async () => { if (!(await remembering.ValidateAsync(es256)).IsValid) throw new InvalidOperationException(); }),
    ("validate again", "HS256", async () => { if (!(await remembering.ValidateAsync(hs256)).IsValid) throw new InvalidOperationException(); }),
    ("issue", "ES256", () => { _ = tokens.Issue("admin", TokenRoles.Admin, TimeSpan.FromHours(1)); return Task.CompletedTask; }),
    ("issue", "HS256", () => { _ = IssueHs256(); return Task.CompletedTask; }),
};

var loadBefore = LoadAverage();
var results = new Dictionary<(string, string, int), List<double>>();
foreach (var run in cases) await MeasureAsync(run.Run, TimeSpan.FromSeconds(0.5), 1); // warm-up (JIT, crypto caches)
for (var round = 0; round < rounds; round++)
{
    // Alternate the order each round so neither algorithm always runs first.
    var order = round % 2 == 0 ? cases : [.. cases.Reverse()];
    foreach (var (operation, alg, run) in order)
    foreach (var t in threads == 1 ? new[] { 1 } : [1, threads])
    {
        var key = (operation, alg, t);
        if (!results.TryGetValue(key, out var list)) results[key] = list = [];
        list.Add(await MeasureAsync(run, TimeSpan.FromSeconds(seconds), t));
    }
}
var loadAfter = LoadAverage();

Console.WriteLine($"Token operations per second, median of {rounds} interleaved rounds of {seconds.ToString(CultureInfo.InvariantCulture)} s; {Environment.ProcessorCount} cores; load average before {loadBefore}, after {loadAfter}");
Console.WriteLine();
Console.WriteLine("| operation | threads | ES256 /s | HS256 /s | ES256 / HS256 | ES256 µs/op | HS256 µs/op |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
foreach (var operation in new[] { "validate", "validate again", "issue" })
foreach (var t in threads == 1 ? new[] { 1 } : [1, threads])
{
    var es = Median(results[(operation, "ES256", t)]);
    var hs = Median(results[(operation, "HS256", t)]);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {operation} | {t} | {es:N0} | {hs:N0} | {es / hs:0.00} | {t * 1e6 / es:0.0} | {t * 1e6 / hs:0.0} |"));
}
return 0;

static async Task<double> MeasureAsync(Func<Task> run, TimeSpan duration, int threads)
{
    long count = 0;
    var stopwatch = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, threads).Select(_ => Task.Run(async () =>
    {
        long local = 0;
        while (stopwatch.Elapsed < duration)
        {
            for (var i = 0; i < 16; i++) await run();
            local += 16;
        }
        Interlocked.Add(ref count, local);
    })).ToArray();
    await Task.WhenAll(workers);
    return count / stopwatch.Elapsed.TotalSeconds;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

double Arg(string name, double fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length && double.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
