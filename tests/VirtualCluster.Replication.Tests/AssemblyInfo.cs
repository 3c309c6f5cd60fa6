// Modes and symlinks are part of what a sync preserves; the suite runs on Linux.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
