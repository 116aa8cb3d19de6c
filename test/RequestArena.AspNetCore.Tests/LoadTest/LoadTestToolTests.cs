using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace RequestArena.AspNetCore.Tests.LoadTest;

// The load-test tool as a user runs it: a process with WebDemo servers of its own as children. However it is stopped,
// no server it started may outlive it, still listening on 127.0.0.1.
public sealed partial class LoadTestToolTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new("loadtest-tool");

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData(15)]    // SIGTERM: a service manager, timeout(1), kill
    [InlineData(2)]     // SIGINT: Ctrl-C sent to the tool alone
    [InlineData(1)]     // SIGHUP: the terminal closed
    public async Task Signal_WhileItsServerRuns_NoServerOutlivesTheTool(int signal)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { ToolPath(), "--scenarios", "hello", "--connections", "1", "--duration", "60", "--warmup", "60", "--rounds", "1", "--driver", "builtin", "--out", _scratch.Path })
        {
            start.ArgumentList.Add(arg);
        }

        // The tool starts one server per mode of the scenario (hello: with and without the middleware) before any load.
        using Process tool = Process.Start(start)!;
        var servers = new List<Uri>();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        tool.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && ServerLine().Match(e.Data) is { Success: true } m)
            {
                lock (servers)
                {
                    servers.Add(new Uri(m.Groups["url"].Value));
                    if (servers.Count == 2)
                    {
                        listening.TrySetResult(servers[1]);
                    }
                }
            }
        };
        tool.OutputDataReceived += (_, _) => { };
        tool.BeginErrorReadLine();
        tool.BeginOutputReadLine();
        int[] children = [];
        try
        {
            Uri server = await listening.Task.WaitAsync(TimeSpan.FromSeconds(90));
            children = ChildrenOf(tool.Id);
            Assert.Equal(2, children.Length);
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            Assert.True((await client.GetAsync(new Uri(server, "/api/hello"))).IsSuccessStatusCode);

            Assert.Equal(0, Kill(tool.Id, signal));
            await tool.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

            int[] alive = await StillAliveAfterAsync(children, TimeSpan.FromSeconds(10));
            Assert.True(alive.Length == 0, $"server processes {string.Join(", ", alive)} outlived the tool stopped by signal {signal}");
        }
        finally
        {
            if (!tool.HasExited)
            {
                tool.Kill(entireProcessTree: true);
            }

            foreach (int pid in children)
            {
                Kill(pid, 9);
            }
        }
    }

    private static string ToolPath() =>
        typeof(LoadTestToolTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "LoadTestDll").Value!;

    // Direct children, from /proc.
    private static int[] ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && StatAfterName(pid) is { } stat
                && int.Parse(stat.Split(' ')[1], CultureInfo.InvariantCulture) == parent)
            {
                children.Add(pid);
            }
        }

        return [.. children];
    }

    private static async Task<int[]> StillAliveAfterAsync(int[] pids, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        int[] alive;
        do
        {
            alive = [.. pids.Where(IsRunning)];
            if (alive.Length == 0)
            {
                break;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        return alive;
    }

    // A zombie (exited, not yet reaped by its new parent) is not running.
    private static bool IsRunning(int pid) => StatAfterName(pid) is { } stat && stat[0] != 'Z';

    // /proc/PID/stat from the field after the process name on (state, then the parent's pid, ...); null once the
    // process is gone. The name is in parentheses and may hold spaces, so the fields start after its last ')'.
    private static string? StatAfterName(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..];
        }
        catch (IOException)
        {
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [GeneratedRegex(@"WebDemo on (?<url>http://127\.0\.0\.1:\d+)")]
    private static partial Regex ServerLine();
}
