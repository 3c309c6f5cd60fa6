using System.Text.Json;
using Microsoft.Data.Sqlite;
using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Store;

// Nodes, services and instances: JSON records with key columns.
public sealed partial class SqliteClusterStore
{
    private const int ConstraintUnique = 2067;      // SQLITE_CONSTRAINT_UNIQUE
    private const int ConstraintPrimaryKey = 1555;  // SQLITE_CONSTRAINT_PRIMARYKEY
    private const int ConstraintForeignKey = 787;   // SQLITE_CONSTRAINT_FOREIGNKEY

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Another node (other id) already has this name.</exception>
    public Task UpsertNodeAsync(NodeInfo node, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO nodes (id, name, json) VALUES ($id, $name, $json)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, json = excluded.json
                """, ("$id", node.Id), ("$name", node.Name), ("$json", ToJson(node)));
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == ConstraintUnique)
            {
                throw new InvalidOperationException($"Another node is already named '{node.Name}'; node names must be unique.", ex);
            }
            return (true, true);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Ordered by name.</remarks>
    public Task<IReadOnlyList<NodeInfo>> ListNodesAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(connection => ReadJsonAsync<NodeInfo>(Command(connection, null, "SELECT json FROM nodes ORDER BY name"), cancellationToken), cancellationToken);

    /// <inheritdoc />
    /// <remarks>An id match wins over a name match.</remarks>
    public Task<NodeInfo?> FindNodeAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(idOrName);
        return ReadAsync(async connection =>
        {
            var found = await ReadJsonAsync<NodeInfo>(Command(connection, null,
                "SELECT json FROM nodes WHERE id = $key OR name = $key ORDER BY id = $key DESC LIMIT 1", ("$key", idOrName)), cancellationToken).ConfigureAwait(false);
            return found.Count == 0 ? null : found[0];
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An instance names another service.</exception>
    /// <exception cref="InvalidOperationException">An instance id is already used (nothing is stored).</exception>
    public Task<bool> CreateServiceAsync(ServiceRecord service, IReadOnlyList<ServiceInstance> instances, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(instances);
        var name = service.Spec.Name;
        foreach (var instance in instances)
        {
            if (instance.Service != name)
                throw new ArgumentException($"Instance '{instance.Id}' belongs to service '{instance.Service}', not '{name}'.", nameof(instances));
        }

        return WriteAsync(async (connection, transaction) =>
        {
            await using (var insert = Command(connection, transaction, """
                INSERT INTO services (name, json, created_at, version) VALUES ($name, $json, $created, $version)
                ON CONFLICT (name) DO NOTHING
                """, ("$name", name), ("$json", ToJson(service.Spec)), ("$created", FormatTime(service.CreatedAt)), ("$version", service.Version)))
            {
                if (await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0) return (false, false);
            }

            await using var add = Command(connection, transaction,
                "INSERT INTO instances (id, service, node_id, json) VALUES ($id, $service, $node, $json)",
                ("$id", ""), ("$service", name), ("$node", ""), ("$json", ""));
            foreach (var instance in instances)
            {
                add.Parameters["$id"].Value = instance.Id;
                add.Parameters["$node"].Value = instance.NodeId;
                add.Parameters["$json"].Value = ToJson(instance);
                try
                {
                    await add.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == ConstraintPrimaryKey)
                {
                    throw new InvalidOperationException($"Instance id '{instance.Id}' is already used; service '{name}' was not stored.", ex);
                }
            }
            return (true, true);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<ServiceRecord?> GetServiceAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ReadAsync(async connection =>
        {
            var found = await ReadServicesAsync(Command(connection, null,
                "SELECT json, created_at, version FROM services WHERE name = $name", ("$name", name)), cancellationToken).ConfigureAwait(false);
            return found.Count == 0 ? null : found[0];
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Ordered by name.</remarks>
    public Task<IReadOnlyList<ServiceRecord>> ListServicesAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(connection => ReadServicesAsync(Command(connection, null, "SELECT json, created_at, version FROM services ORDER BY name"), cancellationToken), cancellationToken);

    /// <inheritdoc />
    /// <remarks>Also deletes the stored logs of its instances, in the same transaction.</remarks>
    public Task<bool> DeleteServiceAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var children = Command(connection, transaction, """
                DELETE FROM logs WHERE instance_id IN (SELECT id FROM instances WHERE service = $name);
                DELETE FROM instances WHERE service = $name;
                """, ("$name", name));
            await children.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var command = Command(connection, transaction, "DELETE FROM services WHERE name = $name", ("$name", name));
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
            return (deleted, deleted);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Ordered by id.</remarks>
    public Task<IReadOnlyList<ServiceInstance>> ListInstancesAsync(string? service = null, string? nodeId = null, CancellationToken cancellationToken = default) =>
        ReadAsync(connection => ReadJsonAsync<ServiceInstance>(Command(connection, null, """
            SELECT json FROM instances
            WHERE ($service IS NULL OR service = $service) AND ($node IS NULL OR node_id = $node)
            ORDER BY id
            """, ("$service", service), ("$node", nodeId)), cancellationToken), cancellationToken);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Its service does not exist (for example it was deleted meanwhile).</exception>
    public Task UpsertInstanceAsync(ServiceInstance instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO instances (id, service, node_id, json) VALUES ($id, $service, $node, $json)
                ON CONFLICT (id) DO UPDATE SET service = excluded.service, node_id = excluded.node_id, json = excluded.json
                """, ("$id", instance.Id), ("$service", instance.Service), ("$node", instance.NodeId), ("$json", ToJson(instance)));
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == ConstraintForeignKey)
            {
                throw new InvalidOperationException($"Instance '{instance.Id}' was not stored: service '{instance.Service}' does not exist.", ex);
            }
            return (true, true);
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Also deletes its stored logs.</remarks>
    public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return WriteAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, """
                DELETE FROM logs WHERE instance_id = $id;
                DELETE FROM instances WHERE id = $id;
                """, ("$id", instanceId));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return (true, true);
        }, cancellationToken);
    }

    private static async Task<IReadOnlyList<ServiceRecord>> ReadServicesAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var records = new List<ServiceRecord>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                records.Add(new ServiceRecord(FromJson<ServiceSpec>(reader.GetString(0)), ParseTime(reader.GetString(1)), reader.GetInt64(2)));
            return records;
        }
    }

    private static async Task<IReadOnlyList<T>> ReadJsonAsync<T>(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var records = new List<T>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) records.Add(FromJson<T>(reader.GetString(0)));
            return records;
        }
    }

    private static string ToJson<T>(T value) => JsonSerializer.Serialize(value, VirtualClusterJson.Options);

    private static T FromJson<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, VirtualClusterJson.Options)
        ?? throw new InvalidDataException($"A stored {typeof(T).Name} record is empty.");
}
