namespace VirtualCluster.P2P.Tests;

/// <summary>
/// Tests that measure the process's heap (GC.GetTotalMemory) run alone: a test running beside them allocates in the
/// same heap and makes a bounded-memory check fail for no fault of the code under test.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "memory measurement";
}
