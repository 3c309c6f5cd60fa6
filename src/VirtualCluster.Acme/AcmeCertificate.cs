using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Acme;

/// <summary>An issued certificate: the chain as the CA sent it (leaf first) and the key it was requested for.</summary>
/// <param name="ChainPem">The PEM chain, leaf first.</param>
/// <param name="PrivateKeyPem">The leaf's private key (PKCS#8 PEM).</param>
public sealed record AcmeCertificate(string ChainPem, string PrivateKeyPem)
{
    /// <summary>The leaf with its private key, ready for Kestrel.</summary>
    public X509Certificate2 ToX509() => X509Certificate2.CreateFromPem(ChainPem, PrivateKeyPem);

    /// <summary>The chain's certificates after the leaf (the intermediates to send with it).</summary>
    public X509Certificate2Collection Intermediates()
    {
        var all = new X509Certificate2Collection();
        all.ImportFromPem(ChainPem);
        all.RemoveAt(0);
        return all;
    }
}
