// Each test starts a whole highly available cluster of real processes; one at a time on a 2-core machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
