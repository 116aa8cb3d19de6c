using System.Diagnostics;

namespace RequestArena.Tests.Adapters;

// Runs test/SharedMemoryReader as a second process. The solution builds it; when a test run did not (a filtered
// `dotnet test` of this project only), it is built once here with the same configuration.
internal static class SharedMemoryReaderProcess
{
    private static readonly Lazy<string> s_readerDll = new(FindOrBuildReader, LazyThreadSafetyMode.ExecutionAndPublication);

    public static (int ExitCode, string Output, string Error) Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(s_readerDll.Value);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new TimeoutException("SharedMemoryReader did not finish within 60 seconds.");
        }

        return (process.ExitCode, output.Result.Trim(), error.Result.Trim());
    }

    private static string FindOrBuildReader()
    {
        // The test assembly lives in test/RequestArena.Tests/bin/<Configuration>/<tfm>/.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string targetFramework = testOutput.Name;
        string configuration = testOutput.Parent!.Name;
        DirectoryInfo? root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "RequestArena.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException($"Cannot find RequestArena.sln above {AppContext.BaseDirectory}.");
        }

        string project = Path.Combine(root.FullName, "test", "SharedMemoryReader", "SharedMemoryReader.csproj");
        string dll = Path.Combine(root.FullName, "test", "SharedMemoryReader", "bin", configuration, targetFramework, "SharedMemoryReader.dll");
        if (File.Exists(dll))
        {
            return dll;
        }

        var build = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "build", project, "-c", configuration, "-v", "q", "-nologo" })
        {
            build.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(build)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 || !File.Exists(dll))
        {
            throw new InvalidOperationException($"Building {project} failed:\n{output.Result}");
        }

        return dll;
    }
}
