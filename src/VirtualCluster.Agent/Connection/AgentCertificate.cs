using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.Agent.Connection;

/// <summary>
/// The node's client certificate: the agent makes its own P-256 key (kept in <c>node.key</c>, owner-only, never sent),
/// asks for a certificate with a PKCS#10 request at join, presents it on every connection to the control plane, and
/// asks for a new one (on a new key) in a heartbeat once two thirds of its life are over. A restart uses the saved pair.
/// </summary>
internal sealed partial class AgentCertificate(string dataDirectory, TimeProvider time, ILogger<AgentCertificate> logger)
{
    public const string KeyFile = "node.key";
    public const string CertificateFile = "node.crt";

    private readonly Lock _gate = new();
    private X509Certificate2? _current;
    private DateTimeOffset _renewAt;
    private ECDsa? _pendingKey;
    private string? _pendingRequest;
    private int _version;

    /// <summary>Changes whenever the certificate does, so HTTP handlers know to open new connections.</summary>
    public int Version => Volatile.Read(ref _version);

    /// <summary>The certificate to present (with its key); null when there is none, or it expired by this machine's clock.</summary>
    public X509Certificate2? Current
    {
        get
        {
            var current = _current;
            return current is not null && time.GetUtcNow() < current.NotAfter.ToUniversalTime() ? current : null;
        }
    }

    /// <summary>Takes the saved certificate if it is node <paramref name="nodeId"/>'s and matches the saved key.</summary>
    public void Load(string nodeId)
    {
        var keyPath = Path.Combine(dataDirectory, KeyFile);
        var certificatePath = Path.Combine(dataDirectory, CertificateFile);
        if (!File.Exists(keyPath) || !File.Exists(certificatePath)) return;
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(keyPath));
            var certificate = NodeCertificates.WithKey(File.ReadAllText(certificatePath), key);
            if (NodeCertificates.ReadIdentity(certificate)?.NodeId != nodeId)
            {
                certificate.Dispose();
                LogSavedForAnotherNode(logger, nodeId);
                return;
            }
            Use(certificate);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            LogSavedUnusable(logger, e.Message);
        }
    }

    /// <summary>A request for a new certificate: at join always; otherwise when none is held or renewal is due. Null when not due.</summary>
    public string? RequestIfDue(string nodeName, bool joining = false)
    {
        lock (_gate)
        {
            if (!joining && Current is not null && time.GetUtcNow() < _renewAt) return null;
            // The same key and request again until an answer carries the certificate: a lost answer costs nothing.
            if (_pendingRequest is null)
                (_pendingKey, _pendingRequest) = NodeCertificates.CreateRequest(nodeName);
            return _pendingRequest;
        }
    }

    /// <summary>Takes the certificate the control plane issued for the pending request: saved (key first), then presented.</summary>
    public void Accept(string certificatePem)
    {
        lock (_gate)
        {
            if (_pendingKey is null) return; // an answer to a request this process did not make
            X509Certificate2 certificate;
            try
            {
                certificate = NodeCertificates.WithKey(certificatePem, _pendingKey);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                LogIssuedUnusable(logger, e.Message);
                return;
            }
            Save(_pendingKey.ExportPkcs8PrivateKeyPem(), certificatePem);
            _pendingKey.Dispose();
            _pendingKey = null;
            _pendingRequest = null;
            Use(certificate);
            LogReceived(logger, certificate.SerialNumber, certificate.NotAfter.ToUniversalTime(), _renewAt.UtcDateTime);
        }
    }

    private void Use(X509Certificate2 certificate)
    {
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        _renewAt = notBefore + (notAfter - notBefore) * 2 / 3;
        // The previous one is left to the collector: a connection being set up may still hold it.
        _current = certificate;
        Interlocked.Increment(ref _version);
    }

    private void Save(string keyPem, string certificatePem)
    {
        Directory.CreateDirectory(dataDirectory);
        // The key first: a crash between the two leaves a new key with the old certificate, which Load refuses (no
        // match) and the agent asks again, rather than a certificate whose key is lost.
        Write(Path.Combine(dataDirectory, KeyFile), keyPem);
        Write(Path.Combine(dataDirectory, CertificateFile), certificatePem);
    }

    private static void Write(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(path + ".tmp", options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(path + ".tmp", path, overwrite: true);
    }

    [LoggerMessage(2130, LogLevel.Information, "This node's client certificate (serial {Serial}) is valid until {NotAfter:u}; renewing from {RenewAt:u}")]
    private static partial void LogReceived(ILogger logger, string serial, DateTime notAfter, DateTime renewAt);

    [LoggerMessage(2131, LogLevel.Warning, "The saved client certificate is not node {NodeId}'s; asking for a new one")]
    private static partial void LogSavedForAnotherNode(ILogger logger, string nodeId);

    [LoggerMessage(2132, LogLevel.Warning, "The saved client certificate cannot be used ({Reason}); asking for a new one")]
    private static partial void LogSavedUnusable(ILogger logger, string reason);

    [LoggerMessage(2133, LogLevel.Error, "The control plane answered a certificate that does not fit this agent's key ({Reason}); asking again")]
    private static partial void LogIssuedUnusable(ILogger logger, string reason);
}
