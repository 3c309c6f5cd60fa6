namespace VirtualCluster.ControlPlane.Store;

/// <summary>What <see cref="LegacyStoreImport"/> knows of the retired SQLite cluster store (<c>cluster.db</c>).</summary>
internal static class LegacySchema
{
    /// <summary>The file name it used in the data directory.</summary>
    public const string FileName = "cluster.db";

    /// <summary>Highest schema version it wrote. 1 lacked the event columns service, node, instance and incident.</summary>
    public const int Version = 2;

    /// <summary>Setting that recorded the schema version (not imported).</summary>
    public const string VersionKey = "schema_version";

    /// <summary>Setting written to the new store once an import finished.</summary>
    public const string ImportedKey = "imported-from-cluster-db";
}
