using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Agent.Connection;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.Agent.Tests.Connection;

/// <summary>The agent's certificate keeping on a fake clock: when it asks for a renewal, what it saves, what a restart reads.</summary>
public sealed class AgentCertificateTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-agent-cert-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2031-03-01T08:00:00Z"));
    private readonly ClusterCa _ca;

    public AgentCertificateTests() => _ca = ClusterCa.Create("c1", _time);

    [Fact]
    public void It_asks_again_only_after_two_thirds_of_the_life_and_uses_the_new_one_at_once()
    {
        var certificate = Certificate();
        certificate.Accept(Issue(certificate.RequestIfDue("node-1", joining: true)!, TimeSpan.FromDays(7)));
        var first = certificate.Current!;
        var version = certificate.Version;

        // The life counts from the certificate's not-before (a tenth of the lifetime capped at a minute before issue).
        _time.Advance(TimeSpan.FromDays(14) / 3 - TimeSpan.FromMinutes(2));
        Assert.Null(certificate.RequestIfDue("node-1"));
        _time.Advance(TimeSpan.FromMinutes(2));
        var request = certificate.RequestIfDue("node-1");
        Assert.NotNull(request);
        Assert.Equal(request, certificate.RequestIfDue("node-1")); // the same request until an answer comes

        certificate.Accept(Issue(request!, TimeSpan.FromDays(7)));

        Assert.NotEqual(first.SerialNumber, certificate.Current!.SerialNumber);
        Assert.NotEqual(version, certificate.Version);
        Assert.Null(certificate.RequestIfDue("node-1"));
    }

    [Fact]
    public void An_expired_certificate_is_not_presented_and_a_new_one_is_asked_for()
    {
        var certificate = Certificate();
        certificate.Accept(Issue(certificate.RequestIfDue("node-1", joining: true)!, TimeSpan.FromMinutes(10)));
        Assert.NotNull(certificate.Current);

        _time.Advance(TimeSpan.FromMinutes(11));

        Assert.Null(certificate.Current);
        Assert.NotNull(certificate.RequestIfDue("node-1"));
    }

    [Fact]
    public void A_restart_reads_the_saved_pair_for_its_node_only_and_the_key_is_owner_only()
    {
        var certificate = Certificate();
        certificate.Accept(Issue(certificate.RequestIfDue("node-1", joining: true)!, TimeSpan.FromDays(7)));

        var restarted = Certificate();
        restarted.Load("n-1");
        var other = Certificate();
        other.Load("n-2");

        Assert.Equal(certificate.Current!.SerialNumber, restarted.Current!.SerialNumber);
        Assert.True(restarted.Current.HasPrivateKey);
        Assert.Null(restarted.RequestIfDue("node-1")); // not due: no new certificate after a restart
        Assert.Null(other.Current);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_directory, AgentCertificate.KeyFile)));
    }

    [Fact]
    public void A_certificate_for_another_key_is_not_taken()
    {
        var certificate = Certificate();
        certificate.RequestIfDue("node-1", joining: true);
        var (key, otherRequest) = NodeCertificates.CreateRequest("x");
        key.Dispose();

        certificate.Accept(Issue(otherRequest, TimeSpan.FromDays(7)));

        Assert.Null(certificate.Current);
        Assert.False(File.Exists(Path.Combine(_directory, AgentCertificate.CertificateFile)));
    }

    private AgentCertificate Certificate() => new(_directory, _time, NullLogger<AgentCertificate>.Instance);

    private string Issue(string request, TimeSpan lifetime)
    {
        Assert.True(NodeCertificates.TryReadRequest(request, out var publicKey, out var problem), problem);
        using var issued = _ca.IssueClientCertificate(publicKey, new ClientIdentity("n-1", "g1"), lifetime, _time);
        return issued.ExportCertificatePem();
    }

    public void Dispose()
    {
        _ca.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
