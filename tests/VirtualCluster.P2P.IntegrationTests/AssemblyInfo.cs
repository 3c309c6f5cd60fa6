// Real coturn processes and network namespaces: one test at a time keeps a 2-core machine predictable.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
