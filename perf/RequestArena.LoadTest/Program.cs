using System.Globalization;
using System.Runtime.InteropServices;
using RequestArena.LoadTest;

if (SoakCommand.IsSoak(args))
{
    return await SoakCommand.RunAsync(args);
}

LoadTestOptions options;
try
{
    options = LoadTestOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

ILoadDriver driver = (options.Driver ?? (WrkDriver.IsInstalled() ? "wrk" : "builtin")) == "wrk" ? new WrkDriver() : new HttpClientDriver();
if (driver is WrkDriver && !WrkDriver.IsInstalled())
{
    Console.Error.WriteLine("wrk is not installed: apt-get install -y wrk, or pass --driver builtin.");
    return 2;
}

string appPath = options.AppPath ?? AppUnderTest.DefaultAppPath();
Console.Error.WriteLine($"starting {appPath}");
await using var servers = new ModeServers(appPath, options.SharedServer);
Console.Error.WriteLine($"driver {driver.Name}; {options.Rounds} rounds of {options.Duration.TotalSeconds:0.#} s per mode, warm-up {options.WarmUp.TotalSeconds:0.#} s per mode; {(options.SharedServer ? "one server for every mode" : "one server per mode")}");

var runner = new LoadRunner(servers, driver, options);
if (options.Sweep)
{
    try
    {
        return await SweepCommand.RunAsync(runner, options, driver.Name);
    }
    catch (ScenarioUnavailableException ex)
    {
        Console.Error.WriteLine(ex.Message);
        return 1;
    }
    catch (ChildServerFailedException ex)
    {
        Console.Error.WriteLine(ex.Message);
        return 2;
    }
    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"could not write the sweep's results: {ex.Message} (the table above is complete)");
        return 1;
    }
}

var runs = new List<RunFigures>();
foreach (string name in options.Scenarios)
{
    Scenario.TryFind(name, out Scenario scenario);
    try
    {
        await runner.CheckAsync(scenario);
    }
    catch (ScenarioUnavailableException ex)
    {
        Console.Error.WriteLine(ex.Message);
        return 1;
    }
    catch (ChildServerFailedException ex)
    {
        // --app names a file that is not a WebDemo, or the demo cannot start here.
        Console.Error.WriteLine(ex.Message);
        return 2;
    }

    foreach (int connections in options.Connections)
    {
        runs.AddRange(await runner.RunAsync(scenario, connections));
    }
}

List<ModeSummary> summaries = [.. runs.GroupBy(r => (r.Scenario, r.Connections, r.Mode)).Select(g => ModeSummary.Of([.. g]))];
List<BarCheck> bars = [.. BarCheck.Evaluate(summaries, runs)];
StatsSample final = await (await servers.ForAsync(runs[0].Mode)).GetStatsAsync();
string conditions = string.Create(CultureInfo.InvariantCulture,
    $"Driver {driver.Name}, loopback 127.0.0.1, {Environment.ProcessorCount} cores shared by server and driver, {(options.SharedServer ? "one server process for every mode" : "one server process per mode")}, {(final.ServerGc ? "Server" : "Workstation")} GC, {RuntimeInformation.FrameworkDescription}; {options.Rounds} interleaved rounds of {options.Duration.TotalSeconds:0.#} s per mode after {options.WarmUp.TotalSeconds:0.#} s warm-up; medians (min–max). {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
string markdown = Report.Markdown(summaries, bars, conditions);
Console.WriteLine(markdown);

string jsonPath = Path.Combine(options.OutputDirectory, "loadtest-results.json");
string svgPath = Path.Combine(options.OutputDirectory, "loadtest-chart.svg");
try
{
    await WriteResultsAsync();
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"could not write the results into {Path.GetFullPath(options.OutputDirectory)}: {ex.Message} (the tables above are complete)");
    return 1;
}

Console.Error.WriteLine($"wrote {Path.GetFullPath(jsonPath)}, {Path.GetFullPath(svgPath)}");
return 0;

async Task WriteResultsAsync()
{
    Directory.CreateDirectory(options.OutputDirectory);
    await Report.WriteResultAsync(jsonPath, Report.Json(new
    {
        conditions,
        driver = driver.Name,
        options = new { durationSeconds = options.Duration.TotalSeconds, warmUpSeconds = options.WarmUp.TotalSeconds, options.Rounds, options.Connections, options.Scenarios, options.MaxRequests },
        machine = new { Environment.ProcessorCount, os = RuntimeInformation.OSDescription, runtime = RuntimeInformation.FrameworkDescription, serverGc = final.ServerGc },
        summaries,
        bars,
        runs,
    }));
    await Report.WriteResultAsync(svgPath, Report.Svg(summaries, $"RequestArena WebDemo load test ({driver.Name}, {Environment.ProcessorCount} cores)"));
    await Report.WriteResultAsync(Path.Combine(options.OutputDirectory, "loadtest-table.md"), markdown);
}
