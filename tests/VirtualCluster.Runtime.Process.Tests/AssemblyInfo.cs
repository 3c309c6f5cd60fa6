// The process driver and its tests are Linux only (/proc, signals, file modes).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
