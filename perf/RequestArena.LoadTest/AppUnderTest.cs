using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace RequestArena.LoadTest;

/// <summary>
/// WebDemo in a child process on 127.0.0.1 and a free port. A child, not in-process: /arena/stats reports
/// process-wide GC figures, and the load generator's own allocations must not be counted in them.
/// </summary>
internal sealed class AppUnderTest : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _client;

    private AppUnderTest(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        _client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }

    public static string DefaultAppPath() =>
        typeof(AppUnderTest).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "WebDemoDll").Value!;

    public static async Task<AppUnderTest> StartAsync(string appPath)
    {
        if (!File.Exists(appPath))
        {
            throw new FileNotFoundException($"WebDemo.dll not found at {appPath}; build samples/WebDemo in the same configuration or pass --app.");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            // The app's own directory holds appsettings.json (logging quiet per request).
            WorkingDirectory = Path.GetDirectoryName(appPath)!,
        };
        start.ArgumentList.Add(appPath);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

        (Process process, Uri address) = await ChildServer.StartAsync(start, "WebDemo", TimeSpan.FromSeconds(30), echoErrors: false);
        return new AppUnderTest(process, address);
    }

    public async Task<StatsSample> GetStatsAsync()
    {
        using JsonDocument doc = JsonDocument.Parse(await _client.GetStringAsync("/arena/stats"));
        _process.Refresh();

        // The server's CPU time: a cost per request that does not depend on how the driver was scheduled.
        return StatsSample.From(doc.RootElement, _process.TotalProcessorTime);
    }

    /// <summary>One request, to check a scenario answers 200 before load is put on it.</summary>
    public async Task CheckAsync(Scenario scenario, string mode)
    {
        using var request = new HttpRequestMessage(new HttpMethod(scenario.Method), scenario.PathFor(mode));
        if (scenario.BodyBytes > 0)
        {
            request.Content = new ByteArrayContent(scenario.Body());
        }

        using HttpResponseMessage response = await _client.SendAsync(request);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new ScenarioUnavailableException($"{scenario.Method} {scenario.PathFor(mode)} answered 404: the WebDemo under test has no such endpoint, so scenario {scenario.Name} cannot run against it. Build a WebDemo that serves it, or pass --app with one that does.");
        }

        if (!response.IsSuccessStatusCode)
        {
            string body = await response.Content.ReadAsStringAsync();
            throw new ScenarioUnavailableException($"{scenario.Method} {scenario.PathFor(mode)} answered {(int)response.StatusCode}; scenario {scenario.Name} cannot run: {body[..Math.Min(body.Length, 500)]}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        ChildProcesses.Untrack(_process);
        _process.Dispose();
    }
}
