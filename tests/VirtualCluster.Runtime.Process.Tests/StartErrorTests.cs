using VirtualCluster.Runtime;

namespace VirtualCluster.Runtime.Process.Tests;

/// <summary>
/// Workloads start through /bin/sh, which would turn these into exit code 126 or 127: the driver checks the command
/// first, so the start fails with the reason instead.
/// </summary>
public sealed class StartErrorTests : DriverFixture
{
    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode NotExecutable = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task File_WithoutExecutePermission_IsNotExecutable()
    {
        var path = WriteFile("plain.sh", "#!/bin/sh\necho hi\n", NotExecutable);

        var status = await StartFailingAsync("perm-1", path);

        Assert.Equal($"command \"{path}\" is not executable (permission denied): \"{path}\"", status.Message);
    }

    [Fact]
    public async Task Directory_IsNotExecutable()
    {
        var status = await StartFailingAsync("dir-1", Root);

        Assert.StartsWith($"command \"{Root}\" is not executable", status.Message, StringComparison.Ordinal);
        Assert.Contains("is a directory", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecutableText_WithoutShebang_IsNotAValidExecutable()
    {
        // A shell would run this as a shell script; exec, as the driver promises, refuses it.
        var path = WriteFile("noshebang", "echo hi\n", Executable);

        var status = await StartFailingAsync("noexec-1", path);

        Assert.StartsWith($"command \"{path}\" is not a valid executable", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingPath_IsNotFound()
    {
        var status = await StartFailingAsync("missing-1", "/no/such/program");

        Assert.StartsWith("command \"/no/such/program\" not found", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RelativeCommand_ResolvesAgainstTheWorkingDirectory()
    {
        var directory = Path.Combine(Root, "app");
        Directory.CreateDirectory(directory);
        WriteFile("app/run", "#!/bin/sh\necho ran from \"$PWD\"\n", Executable);
        var spec = new ServiceSpec { Name = "test", Driver = "process", Command = "./run", WorkingDirectory = directory };

        await StartAsync(Request("rel-1", spec));

        Assert.Equal($"ran from {directory}", Assert.Single(await WaitForLinesAsync("rel-1", 1)).Text);
    }

    [Fact]
    public async Task BareCommand_IsLookedUpInTheWorkloadsPath()
    {
        var bin = Path.Combine(Root, "bin");
        Directory.CreateDirectory(bin);
        WriteFile("bin/vc-test-tool", "#!/bin/sh\necho tool\n", Executable);
        var spec = new ServiceSpec
        {
            Name = "test",
            Driver = "process",
            Command = "vc-test-tool",
            Env = new Dictionary<string, string> { ["PATH"] = bin + ":/usr/bin:/bin" },
        };

        await StartAsync(Request("path-1", spec));

        Assert.Equal("tool", Assert.Single(await WaitForLinesAsync("path-1", 1)).Text);
    }

    private async Task<WorkloadStatus> StartFailingAsync(string id, string command)
    {
        var status = await StartAsync(Request(id, new ServiceSpec { Name = "test", Driver = "process", Command = command }));
        Assert.Equal((WorkloadState.Failed, (int?)null), (status.State, status.Pid));
        Assert.Contains(status.Message, Assert.Single(await Driver.ReadLogsAsync(id, 0, 10)).Text, StringComparison.Ordinal);
        return status;
    }

    private string WriteFile(string name, string content, UnixFileMode mode)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
        return path;
    }
}
