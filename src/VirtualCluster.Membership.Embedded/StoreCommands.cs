using Microsoft.Data.Sqlite;

namespace VirtualCluster.Membership.Embedded;

/// <summary>
/// The store's statements, each prepared once per connection and run again with new values: a write runs four to
/// six statements, and parsing them anew each time was a tenth of a failover's store time. Used under the store's
/// gate only (one statement runs at a time).
/// </summary>
internal sealed class StoreCommands(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    /// <summary>The statement for <paramref name="sql"/> bound to these values; disposing the result releases the values, not the statement.</summary>
    public StoreCommand Get(string sql, SqliteTransaction? transaction, (string Name, object? Value)[] parameters)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }
        command.Transaction = transaction;
        var bound = command.Parameters;
        if (bound.Count != parameters.Length)
        {
            bound.Clear();
            foreach (var (name, value) in parameters) bound.AddWithValue(name, value ?? DBNull.Value);
        }
        else
        {
            for (var i = 0; i < parameters.Length; i++)
            {
                var (name, value) = parameters[i];
                if (!string.Equals(bound[i].ParameterName, name, StringComparison.Ordinal)) bound[i].ParameterName = name;
                bound[i].Value = value ?? DBNull.Value;
            }
        }
        return new StoreCommand(command);
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values) command.Dispose();
        _commands.Clear();
    }
}

/// <summary>A kept statement with its values bound; disposing it drops the values (large records stay referenced otherwise).</summary>
internal readonly struct StoreCommand(SqliteCommand command) : IDisposable
{
    public SqliteDataReader ExecuteReader() => command.ExecuteReader();

    public object? ExecuteScalar() => command.ExecuteScalar();

    public int ExecuteNonQuery() => command.ExecuteNonQuery();

    public void Dispose()
    {
        foreach (SqliteParameter parameter in command.Parameters) parameter.Value = DBNull.Value;
        command.Transaction = null;
    }
}
