using System.Diagnostics;

namespace WebDemo.Tests;

/// <summary>Runs the system Chromium headless once per call, with a fresh profile and nothing that phones home.</summary>
internal static class HeadlessChromium
{
    public static async Task<string> RunAsync(IEnumerable<string> modeArgs, string url, TimeSpan timeout)
    {
        DirectoryInfo profile = Directory.CreateTempSubdirectory("webdemo-chromium-");
        var start = new ProcessStartInfo(ChromiumFactAttribute.ChromiumPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1400,1000", $"--user-data-dir={profile.FullName}",
        }.Concat(modeArgs).Append(url))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Chromium did not start.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Chromium did not finish within {timeout}; stderr: {await stderr}");
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A crashed renderer may still hold a file for a moment; a temp dir left behind is harmless.
            }
        }

        string output = await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"Chromium exited with {process.ExitCode}; stderr: {await stderr}");
        }

        return output;
    }
}
