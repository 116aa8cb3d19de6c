using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using RequestArena.LoadTest.Soak;

namespace RequestArena.LoadTest;

/// <summary>
/// The soak server in a child process (this same program with <c>--soak-server</c>), so the working set and GC figures
/// are the server's alone, not the load generator's. The child exits when its standard input closes, so it never
/// outlives this process, however this process ends.
/// </summary>
internal sealed partial class SoakServerProcess : IAsyncDisposable
{
    public const string ServerFlag = "--soak-server";

    private readonly Process _process;

    private SoakServerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<SoakServerProcess> StartAsync(SoakSettings settings, bool serverGc)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(SoakServerProcess).Assembly.Location);
        start.ArgumentList.Add(ServerFlag);
        start.ArgumentList.Add(JsonSerializer.Serialize(settings));

        // ASP.NET Core applications run Server GC by default (the Web SDK sets it); this console program does not.
        start.Environment["DOTNET_gcServer"] = serverGc ? "1" : "0";

        Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("The soak server exited before listening:\n" + string.Join('\n', log)));
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
            if (e.Data is not null)
            {
                lock (log)
                {
                    log.Add(e.Data);
                }

                Console.Error.WriteLine("[server] " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            return new SoakServerProcess(process, await listening.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>The child's side: serves until standard input closes or <paramref name="maxLifetime"/> passes.</summary>
    public static async Task<int> ServeAsync(string settingsJson, TimeSpan maxLifetime)
    {
        SoakSettings settings = JsonSerializer.Deserialize<SoakSettings>(settingsJson)
            ?? throw new ArgumentException("No soak settings given.");
        await using Microsoft.AspNetCore.Builder.WebApplication app = await SoakApp.StartAsync(settings);
        Console.WriteLine($"Now listening on: {SoakApp.AddressOf(app)}");

        Task parentGone = Task.Run(() =>
        {
            while (Console.In.ReadLine() is not null)
            {
            }
        });
        await Task.WhenAny(parentGone, Task.Delay(maxLifetime));
        await app.StopAsync();
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (?<url>http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningRegex();
}
