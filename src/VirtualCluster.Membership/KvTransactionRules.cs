using VirtualCluster.Store;

namespace VirtualCluster.Membership;

/// <summary>Checks every provider applies to a transaction before sending it, so all providers refuse the same things.</summary>
public static class KvTransactionRules
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> for an empty key, a put without a value, a key changed twice, or more
    /// than <paramref name="maxSize"/> conditions and operations together.
    /// </summary>
    public static void Validate(IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations, int maxSize)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentNullException.ThrowIfNull(operations);
        if (conditions.Count + operations.Count > maxSize)
            throw new ArgumentException($"A transaction holds at most {maxSize} conditions and operations; this one has {conditions.Count + operations.Count}.", nameof(operations));
        foreach (var condition in conditions)
        {
            ArgumentNullException.ThrowIfNull(condition, nameof(conditions));
            ArgumentException.ThrowIfNullOrEmpty(condition.Key, nameof(conditions));
            ArgumentOutOfRangeException.ThrowIfNegative(condition.ModRevision, nameof(conditions));
        }
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var operation in operations)
        {
            ArgumentNullException.ThrowIfNull(operation, nameof(operations));
            ArgumentException.ThrowIfNullOrEmpty(operation.Key, nameof(operations));
            if (operation.Kind == KvOperationKind.Put && operation.Value is null)
                throw new ArgumentException($"The put of \"{operation.Key}\" has no value.", nameof(operations));
            if (operation.Kind != KvOperationKind.DeletePrefix && !changed.Add(operation.Key))
                throw new ArgumentException($"The transaction changes \"{operation.Key}\" twice.", nameof(operations));
        }
    }
}
