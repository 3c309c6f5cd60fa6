using System.Security.Cryptography;
using System.Text;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Secrets;

/// <summary>
/// Seals (AES-256-GCM) the secret values of a service spec before the control plane stores them, and opens them only
/// to build the assignments of the agent running an instance. The additional data binds each value to its service and
/// variable, so a sealed value copied into another service or variable does not open. The key is the cluster's, made on
/// first use and kept in the store like the signing key (so every control plane of an HA cluster can open it).
/// </summary>
public sealed class SecretSealer
{
    /// <summary>Prefix of a sealed value: format version 1.</summary>
    public const string Prefix = "vcs1:";

    /// <summary>What API answers show instead of a secret's value.</summary>
    public const string Redacted = "(secret)";

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly IClusterStore _store;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private byte[]? _key;

    public SecretSealer(IClusterStore store) => _store = store;

    /// <summary>The spec with its secret values sealed. Every value is sealed, whatever it looks like: a spec's value is always plain text.</summary>
    public async Task<ServiceSpec> SealAsync(ServiceSpec spec, CancellationToken ct)
    {
        if (spec.Secrets.Count == 0) return spec;
        var key = await KeyAsync(ct);
        using var aes = new AesGcm(key, TagSize);
        var sealedValues = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in spec.Secrets)
            sealedValues[name] = Seal(aes, spec.Name, name, value);
        return spec with { Secrets = sealedValues };
    }

    /// <summary>The spec with its secret values opened, for the agent that runs it.</summary>
    /// <exception cref="CryptographicException">A value was not sealed by this cluster's key for this service and variable.</exception>
    public async Task<ServiceSpec> OpenAsync(ServiceSpec spec, CancellationToken ct)
    {
        if (spec.Secrets.Count == 0) return spec;
        var key = await KeyAsync(ct);
        using var aes = new AesGcm(key, TagSize);
        var opened = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in spec.Secrets) opened[name] = Open(aes, spec.Name, name, value);
        return spec with { Secrets = opened };
    }

    /// <summary>
    /// Seals one value outside a spec (a gateway's certificate key, the ACME account key) with the same key and format;
    /// <paramref name="scope"/> and <paramref name="name"/> are bound in as the additional data, as a service and variable are.
    /// </summary>
    public async Task<string> SealValueAsync(string scope, string name, string value, CancellationToken ct)
    {
        using var aes = new AesGcm(await KeyAsync(ct), TagSize);
        return Seal(aes, scope, name, value);
    }

    /// <summary>Opens a value sealed by <see cref="SealValueAsync"/> under the same scope and name.</summary>
    /// <exception cref="CryptographicException">It was not sealed by this cluster's key for this scope and name.</exception>
    public async Task<string> OpenValueAsync(string scope, string name, string value, CancellationToken ct)
    {
        using var aes = new AesGcm(await KeyAsync(ct), TagSize);
        return Open(aes, scope, name, value);
    }

    /// <summary>The spec as API answers show it: every secret's name, no value.</summary>
    public static ServiceSpec Redact(ServiceSpec spec) =>
        spec.Secrets.Count == 0 ? spec : spec with { Secrets = spec.Secrets.Keys.ToDictionary(k => k, _ => Redacted, StringComparer.Ordinal) };

    private static string Seal(AesGcm aes, string service, string name, string value)
    {
        var plain = Encoding.UTF8.GetBytes(value);
        var output = new byte[NonceSize + plain.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        aes.Encrypt(nonce, plain, output.AsSpan(NonceSize, plain.Length), output.AsSpan(NonceSize + plain.Length), AssociatedData(service, name));
        CryptographicOperations.ZeroMemory(plain);
        return Prefix + Convert.ToBase64String(output);
    }

    private static string Open(AesGcm aes, string service, string name, string value)
    {
        if (!value.StartsWith(Prefix, StringComparison.Ordinal)) throw new CryptographicException($"secret {name} of {service} is not sealed");
        var input = Convert.FromBase64String(value[Prefix.Length..]);
        if (input.Length < NonceSize + TagSize) throw new CryptographicException($"secret {name} of {service} is truncated");
        var plain = new byte[input.Length - NonceSize - TagSize];
        aes.Decrypt(input.AsSpan(0, NonceSize), input.AsSpan(NonceSize, plain.Length), input.AsSpan(NonceSize + plain.Length), plain, AssociatedData(service, name));
        return Encoding.UTF8.GetString(plain);
    }

    private static byte[] AssociatedData(string service, string name) => Encoding.UTF8.GetBytes($"{service}\n{name}");

    private async Task<byte[]> KeyAsync(CancellationToken ct)
    {
        if (_key is { } key) return key;
        await _gate.WaitAsync(ct);
        try
        {
            return _key ??= Convert.FromBase64String(await _store.GetOrAddSettingAsync("secrets-key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), ct));
        }
        finally
        {
            _gate.Release();
        }
    }
}
