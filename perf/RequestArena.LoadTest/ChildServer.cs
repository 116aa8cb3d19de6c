using System.Diagnostics;
using System.Text.RegularExpressions;

namespace RequestArena.LoadTest;

/// <summary>
/// Starts a server as a child process and waits until it prints Kestrel's "Now listening on" line, so callers get
/// the address of a server that is ready. Both the WebDemo under load and the soak server start this way; the owner
/// stops the process and then calls <see cref="ChildProcesses.Untrack"/>, and the tool kills it if it exits first.
/// </summary>
internal static partial class ChildServer
{
    /// <summary>Starts <paramref name="start"/> and returns the process with the address it listens on.</summary>
    /// <param name="start">How to start it; output and error are redirected here.</param>
    /// <param name="name">The server's name in error messages.</param>
    /// <param name="timeout">How long it may take to start listening; the process is killed after that.</param>
    /// <param name="echoErrors">Whether the child's standard error is copied to this process's.</param>
    public static async Task<(Process Process, Uri Address)> StartAsync(ProcessStartInfo start, string name, TimeSpan timeout, bool echoErrors)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;

        Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        ChildProcesses.Track(process);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                // Output closed before the address showed up: the server died; say what it printed.
                lock (log)
                {
                    listening.TrySetException(new ChildServerFailedException($"{name} exited before listening:\n" + string.Join('\n', log)));
                }

                return;
            }

            lock (log)
            {
                log.Add(e.Data);
            }

            if (ListeningRegex().Match(e.Data) is { Success: true } m)
            {
                listening.TrySetResult(new Uri(m.Groups["url"].Value));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (log)
            {
                log.Add(e.Data);
            }

            if (echoErrors)
            {
                Console.Error.WriteLine($"[{name}] " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            return (process, await listening.Task.WaitAsync(timeout));
        }
        catch (Exception ex)
        {
            process.Kill(entireProcessTree: true);
            ChildProcesses.Untrack(process);
            process.Dispose();
            if (ex is TimeoutException)
            {
                throw new ChildServerFailedException($"{name} did not start listening within {timeout.TotalSeconds:0} s.", ex);
            }

            throw;
        }
    }

    [GeneratedRegex(@"Now listening on: (?<url>http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningRegex();
}
