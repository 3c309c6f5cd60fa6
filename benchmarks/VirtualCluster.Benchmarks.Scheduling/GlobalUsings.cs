global using VirtualCluster;
global using VirtualCluster.Scheduling;
