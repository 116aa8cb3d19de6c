using System.Globalization;

namespace RequestArena.LoadTest;

/// <summary>Measures one scenario at one concurrency: a warm-up per mode, then interleaved rounds in rotating order.</summary>
internal sealed class LoadRunner(ModeServers servers, ILoadDriver driver, LoadTestOptions options)
{
    /// <summary>Checks that every mode of <paramref name="scenario"/> answers before load is put on it.</summary>
    /// <exception cref="ScenarioUnavailableException">The application refused one of the modes.</exception>
    public async Task CheckAsync(Scenario scenario)
    {
        foreach (string mode in scenario.Modes)
        {
            await (await servers.ForAsync(mode)).CheckAsync(scenario, mode);
        }
    }

    public async Task<List<RunFigures>> RunAsync(Scenario scenario, int connections)
    {
        byte[] body = scenario.Body();
        var runs = new List<RunFigures>();

        // Warm-up per mode: JIT tiering, pools and connection set-up are not measured.
        foreach (string mode in scenario.Modes)
        {
            AppUnderTest app = await servers.ForAsync(mode);
            await driver.RunAsync(new Uri(app.BaseAddress, scenario.PathFor(mode)), scenario.Method, body, connections, options.WarmUp, options.MaxRequests);
        }

        // Modes interleaved so slow drift (thermal, neighbours, GC heap growth) hits all modes alike, and the order
        // rotated each round (A B C, B C A, C A B, ...) so no mode always runs first, right after the stats reads and
        // the previous scenario, or always last.
        for (int round = 1; round <= options.Rounds; round++)
        {
            foreach (string mode in Scenario.RoundOrder(scenario.Modes, round))
            {
                AppUnderTest app = await servers.ForAsync(mode);
                StatsSample before = await app.GetStatsAsync();
                DriverResult result = await driver.RunAsync(new Uri(app.BaseAddress, scenario.PathFor(mode)), scenario.Method, body, connections, options.Duration, options.MaxRequests);
                StatsSample after = await app.GetStatsAsync();
                RunFigures figures = RunFigures.From(scenario.Name, connections, mode, round, result, before, after);
                runs.Add(figures);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {scenario.Name,-15} c{connections,-4} {Scenario.ModeLabel(scenario, mode),-14} round {round}: {figures.RequestsPerSecond,9:N0} req/s  p99 {figures.P99Ms,7:F2} ms  gen0/10k {figures.Gen0Per10k,6:F2}  alloc {figures.AllocatedBytesPerRequest,9:N0} B/req  cpu {figures.ServerCpuUsPerRequest,6:F1} µs/req  errors {figures.Errors}"));
            }
        }

        return runs;
    }
}
