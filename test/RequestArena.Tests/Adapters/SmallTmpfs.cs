using System.Diagnostics;

namespace RequestArena.Tests.Adapters;

// A tmpfs of a given size mounted on a fresh directory for one test, unmounted and removed at dispose. Mounting
// needs root (CI runs as root); TmpfsFactAttribute skips the test, saying why, only where mounting is refused.
internal sealed class SmallTmpfs : IDisposable
{
    private static readonly Lazy<string?> s_whyNot = new(ProbeMount);

    private SmallTmpfs(string path) => Path = path;

    public string Path { get; }

    // Null when tmpfs can be mounted here; otherwise the reason it cannot.
    public static string? WhyNotMountable => s_whyNot.Value;

    public static SmallTmpfs Mount(string size)
    {
        string path = Directory.CreateTempSubdirectory("ra-tmpfs-").FullName;
        var (exitCode, error) = Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", path);
        if (exitCode != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount -t tmpfs -o size={size} failed with {exitCode}: {error}");
        }

        return new SmallTmpfs(path);
    }

    // Makes the directory immutable (chattr +i) until the result is disposed: creating, renaming and removing its
    // entries then fail with EPERM, which .NET reports as UnauthorizedAccessException.
    public IDisposable RefuseChanges()
    {
        ChangeAttribute("+i");
        return new Restore(() => ChangeAttribute("-i"));
    }

    public void Dispose()
    {
        var (exitCode, error) = Run("umount", Path);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"umount {Path} failed with {exitCode}: {error}");
        }

        Directory.Delete(Path);
    }

    private void ChangeAttribute(string attribute)
    {
        var (exitCode, error) = Run("chattr", attribute, Path);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"chattr {attribute} {Path} failed with {exitCode}: {error}");
        }
    }

    private static string? ProbeMount()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "tmpfs exists on Linux only.";
        }

        try
        {
            using SmallTmpfs probe = Mount("64k");
            return null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"this process may not mount a tmpfs (it needs root or CAP_SYS_ADMIN; CI runs as root): {ex.Message}";
        }
    }

    private static (int ExitCode, string Error) Run(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error.Trim());
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
