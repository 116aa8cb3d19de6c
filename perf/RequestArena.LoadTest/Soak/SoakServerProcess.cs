using System.Diagnostics;
using System.Text.Json;
using RequestArena.LoadTest.Soak;

namespace RequestArena.LoadTest;

/// <summary>
/// The soak server in a child process (this same program with <c>--soak-server</c>), so the working set and GC figures
/// are the server's alone, not the load generator's. The child exits when its standard input closes, so it never
/// outlives this process, however this process ends.
/// </summary>
internal sealed class SoakServerProcess : IAsyncDisposable
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
        };
        start.ArgumentList.Add(typeof(SoakServerProcess).Assembly.Location);
        start.ArgumentList.Add(ServerFlag);
        start.ArgumentList.Add(JsonSerializer.Serialize(settings));

        // ASP.NET Core applications run Server GC by default (the Web SDK sets it); this console program does not.
        start.Environment["DOTNET_gcServer"] = serverGc ? "1" : "0";

        (Process process, Uri address) = await ChildServer.StartAsync(start, "soak server", TimeSpan.FromSeconds(60), echoErrors: true);
        return new SoakServerProcess(process, address);
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

        ChildProcesses.Untrack(_process);
        _process.Dispose();
    }
}
