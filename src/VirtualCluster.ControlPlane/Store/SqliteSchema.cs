namespace VirtualCluster.ControlPlane.Store;

/// <summary>Tables of the SQLite store. Records are JSON; columns exist only for keys, lookups and ordering.</summary>
internal static class SqliteSchema
{
    /// <summary>Version written to the <c>schema_version</c> setting; bump with a migration when the tables change.</summary>
    /// <remarks>2: events name their service, node, instance and incident.</remarks>
    public const int Version = 2;

    /// <summary>Key of the schema version in the settings table.</summary>
    public const string VersionKey = "schema_version";

    public const string Create = """
        CREATE TABLE IF NOT EXISTS settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS counters (
            name  TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS nodes (
            id   TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            json TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS services (
            name       TEXT PRIMARY KEY,
            json       TEXT NOT NULL,
            created_at TEXT NOT NULL,
            version    INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS instances (
            id      TEXT PRIMARY KEY,
            service TEXT NOT NULL REFERENCES services (name) ON DELETE CASCADE,
            node_id TEXT NOT NULL,
            json    TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS instances_by_service ON instances (service);
        CREATE INDEX IF NOT EXISTS instances_by_node ON instances (node_id);
        CREATE TABLE IF NOT EXISTS events (
            seq      INTEGER PRIMARY KEY AUTOINCREMENT,
            ts       TEXT NOT NULL,
            kind     TEXT NOT NULL,
            subject  TEXT NOT NULL,
            message  TEXT NOT NULL,
            service  TEXT,
            node     TEXT,
            instance TEXT,
            incident TEXT
        );
        CREATE TABLE IF NOT EXISTS logs (
            instance_id TEXT NOT NULL,
            seq         INTEGER NOT NULL,
            ts          TEXT NOT NULL,
            stream      TEXT NOT NULL,
            text        TEXT NOT NULL,
            PRIMARY KEY (instance_id, seq)
        ) WITHOUT ROWID;
        """;

    /// <summary>Indexes that need the version-2 columns; run after any migration.</summary>
    public const string CreateIndexes = """
        CREATE INDEX IF NOT EXISTS events_by_service ON events (service, seq);
        CREATE INDEX IF NOT EXISTS events_by_node ON events (node, seq);
        CREATE INDEX IF NOT EXISTS events_by_incident ON events (incident, seq);
        """;

    /// <summary>Version 1 to 2: the event columns that older files lack.</summary>
    public const string MigrateFrom1 = """
        ALTER TABLE events ADD COLUMN service TEXT;
        ALTER TABLE events ADD COLUMN node TEXT;
        ALTER TABLE events ADD COLUMN instance TEXT;
        ALTER TABLE events ADD COLUMN incident TEXT;
        """;
}
