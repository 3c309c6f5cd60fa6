// The integration tests start whole clusters of real processes; running them one at a time keeps
// a 2-core CI machine from starving heartbeats.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
