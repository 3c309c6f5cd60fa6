namespace VirtualCluster.Benchmarks.Scheduling; internal static class QualityHarness { public static void Run(bool quick, TextWriter o) {} }
