using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace RequestArena.LoadTest;

/// <summary>
/// wrk (the Debian package). A Lua script adds a per-thread request cap (wrk itself only stops on time) and prints
/// the exact latency percentiles from wrk's own histogram.
/// </summary>
internal sealed class WrkDriver : ILoadDriver
{
    public string Name => "wrk";

    public static bool IsInstalled() => FindOnPath("wrk") is not null;

    public async Task<DriverResult> RunAsync(Uri url, string method, byte[] body, int connections, TimeSpan duration, long maxRequests)
    {
        int threads = Math.Min(connections, 2);
        string script = Path.Combine(Path.GetTempPath(), $"requestarena-wrk-{Environment.ProcessId}-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(script, Script(method, body, Math.Max(1, maxRequests / threads)));
        try
        {
            var start = new ProcessStartInfo(FindOnPath("wrk") ?? throw new InvalidOperationException("wrk is not installed (apt-get install -y wrk), or use --driver builtin."))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[]
            {
                "-t", threads.ToString(CultureInfo.InvariantCulture),
                "-c", connections.ToString(CultureInfo.InvariantCulture),
                "-d", Math.Max(1, (int)Math.Round(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s",
                "--timeout", "10s",
                "-s", script,
                url.ToString(),
            })
            {
                start.ArgumentList.Add(arg);
            }

            using Process process = Process.Start(start)!;
            ChildProcesses.Track(process);
            try
            {
                Task<string> stdout = process.StandardOutput.ReadToEndAsync();
                Task<string> stderr = process.StandardError.ReadToEndAsync();

                // wrk stops by itself; this only guards against a wedged run.
                using var guard = new CancellationTokenSource(duration + TimeSpan.FromSeconds(30));
                try
                {
                    await process.WaitForExitAsync(guard.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    throw new TimeoutException("wrk did not stop on time.");
                }

                string output = await stdout;
                string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith("WRKJSON ", StringComparison.Ordinal));
                if (process.ExitCode != 0 || line is null)
                {
                    throw new InvalidOperationException($"wrk failed ({process.ExitCode}): {output}\n{await stderr}");
                }

                long[] f = [.. line["WRKJSON ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => long.Parse(s, CultureInfo.InvariantCulture))];
                return new DriverResult(f[0], f[2], TimeSpan.FromTicks(f[1] * 10), f[3], f[4], f[5], f[6]);
            }
            finally
            {
                ChildProcesses.Untrack(process);
            }
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static string Script(string method, byte[] body, long perThreadLimit)
    {
        var lua = new StringBuilder();
        lua.AppendLine(CultureInfo.InvariantCulture, $"wrk.method = \"{method}\"");
        if (body.Length > 0)
        {
            // The body is printable ASCII without quotes or backslashes (Scenario.Body), so a long string is safe.
            lua.AppendLine("wrk.body = [==[" + Encoding.ASCII.GetString(body) + "]==]");
            lua.AppendLine("wrk.headers[\"Content-Type\"] = \"application/octet-stream\"");
        }

        lua.AppendLine(CultureInfo.InvariantCulture, $"local limit = {perThreadLimit}");
        lua.AppendLine("""
            local sent = 0
            local req = nil
            request = function()
              sent = sent + 1
              if sent > limit then wrk.thread:stop() end
              if req == nil then req = wrk.format() end
              return req
            end
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("WRKJSON %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
                e.connect + e.read + e.write + e.status + e.timeout,
                latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
            end
            """);
        return lua.ToString();
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin")
            .Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
