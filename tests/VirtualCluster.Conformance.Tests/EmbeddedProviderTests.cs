using VirtualCluster.Membership.Election;
using VirtualCluster.Membership.Embedded;
using VirtualCluster.Membership.Members;
using VirtualCluster.Store;

namespace VirtualCluster.Conformance.Tests;

/// <summary>The conformance suite on the embedded provider (SQLite file in a temp directory).</summary>
public sealed class EmbeddedProviderTests : ProviderConformanceTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-embedded-kv-").FullName;
    private SqliteKeyValueStore? _store;


    internal static ProviderUnderTest Wrap(IKeyValueStore store, IAsyncDisposable? cleanup) =>
        new(store, new KvLeaderElection(store), new KvMembership(store), cleanup);

    protected override Task<ProviderUnderTest> CreateProviderAsync()
    {
        _store = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(_directory, "kv.db") });
        return Task.FromResult(Wrap(_store, _store));
    }

    // One process owns the file, so a "second client" is a second set of objects on the same store.
    protected override Task<ProviderUnderTest> CreateSecondClientAsync() => Task.FromResult(Wrap(_store!, null));

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
