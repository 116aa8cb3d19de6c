using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace RequestArena.LoadTest;

/// <summary>
/// <c>--sweep</c>: how the records scenario's cost grows with the work. It measures every mode at each allocation
/// count (at one concurrency) and at each concurrency (at one allocation count), and writes one SVG chart per metric
/// per axis, so a flat line of server CPU per allocation shows an allocator whose cost does not grow with the count.
/// </summary>
internal static class SweepCommand
{
    /// <summary>The charts: file stem, metric label and how to read it from a point.</summary>
    internal static readonly (string Stem, string Label, Func<SweepPoint, Spread> Pick)[] Metrics =
    [
        ("rps", "requests/s", p => p.RequestsPerSecond),
        ("p99", "p99 latency, ms", p => p.P99Ms),
        ("cpu-per-request", "server CPU per request, µs", p => p.ServerCpuUsPerRequest),
        ("cpu-per-allocation", "server CPU per allocation, ns", p => p.ServerCpuNsPerAllocation),
    ];

    public static async Task<int> RunAsync(LoadRunner runner, LoadTestOptions options, string driverName)
    {
        var plan = new List<(int Allocations, int Connections)>();
        plan.AddRange(options.SweepAllocations.Select(a => (a, options.SweepFixedConnections)));
        plan.AddRange(options.SweepConnections.Select(c => (options.SweepFixedAllocations, c)));
        plan = [.. plan.Distinct()];

        // A WebDemo without the endpoint, or one that refuses a count, fails here, before any load, with the URL.
        foreach (int allocations in plan.Select(p => p.Allocations).Distinct())
        {
            await runner.CheckAsync(Scenario.Records(allocations));
        }

        var points = new List<SweepPoint>();
        foreach ((int allocations, int connections) in plan)
        {
            Scenario scenario = Scenario.Records(allocations);
            List<RunFigures> runs = await runner.RunAsync(scenario, connections);
            points.AddRange(runs.GroupBy(r => r.Mode).Select(g => SweepPoint.Of(allocations, ModeSummary.Of([.. g]))));
        }

        string conditions = string.Create(CultureInfo.InvariantCulture,
            $"Sweep of records-N, driver {driverName}, loopback 127.0.0.1, {Environment.ProcessorCount} cores shared by server and driver, {RuntimeInformation.FrameworkDescription}; {options.Rounds} interleaved rounds of {options.Duration.TotalSeconds:0.#} s per mode after {options.WarmUp.TotalSeconds:0.#} s warm-up; medians (min–max). {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        string markdown = Markdown(points, conditions);
        Console.WriteLine(markdown);

        Directory.CreateDirectory(options.OutputDirectory);
        await Report.WriteResultAsync(Path.Combine(options.OutputDirectory, "sweep-table.md"), markdown);
        await Report.WriteResultAsync(Path.Combine(options.OutputDirectory, "sweep-results.json"), Report.Json(new
        {
            conditions,
            driver = driverName,
            options = new
            {
                durationSeconds = options.Duration.TotalSeconds, warmUpSeconds = options.WarmUp.TotalSeconds, options.Rounds,
                options.SweepAllocations, options.SweepConnections, options.SweepFixedAllocations, options.SweepFixedConnections,
            },
            points,
        }));

        Directory.CreateDirectory(options.ChartDirectory);
        var written = new List<string>();
        foreach ((string stem, string label, Func<SweepPoint, Spread> pick) in Metrics)
        {
            written.Add(await WriteChartAsync(options.ChartDirectory, $"sweep-{stem}-by-allocations.svg",
                SweepChart.Svg($"records: {label} by allocations per request ({options.SweepFixedConnections} connections)", "allocations per request", label,
                    Series(points.Where(p => p.Connections == options.SweepFixedConnections && options.SweepAllocations.Contains(p.Allocations)), p => p.Allocations, pick))));
            written.Add(await WriteChartAsync(options.ChartDirectory, $"sweep-{stem}-by-connections.svg",
                SweepChart.Svg($"records: {label} by connections ({options.SweepFixedAllocations} allocations per request)", "connections", label,
                    Series(points.Where(p => p.Allocations == options.SweepFixedAllocations && options.SweepConnections.Contains(p.Connections)), p => p.Connections, pick))));
        }

        // What one more allocation costs, free of the request's fixed cost that dominates CPU per allocation at small
        // counts: the slope of CPU per request between neighbouring counts, plotted at the larger count.
        IReadOnlyList<SweepChart.Line> marginal = SweepPoint.MarginalCpuPerAllocation(points.Where(p => p.Connections == options.SweepFixedConnections && options.SweepAllocations.Contains(p.Allocations)));
        written.Add(await WriteChartAsync(options.ChartDirectory, "sweep-marginal-cpu-per-allocation-by-allocations.svg",
            SweepChart.Svg($"records: server CPU per additional allocation, ns ({options.SweepFixedConnections} connections)", "allocations per request", "ns per additional allocation", marginal)));

        Console.Error.WriteLine($"wrote {string.Join(", ", written)}");
        return points.Any(p => p.Errors > 0) ? 1 : 0;
    }

    internal static IReadOnlyList<SweepChart.Line> Series(IEnumerable<SweepPoint> points, Func<SweepPoint, int> x, Func<SweepPoint, Spread> y) =>
        [.. points.GroupBy(p => p.Mode).Select(g => new SweepChart.Line(g.Key, [.. g.OrderBy(x).Select(p => ((double)x(p), y(p)))]))];

    internal static string Markdown(IReadOnlyList<SweepPoint> points, string conditions)
    {
        var md = new StringBuilder();
        md.AppendLine(conditions).AppendLine();
        md.AppendLine("| allocations/req | conn | mode | req/s (min–max) | p99 ms | server CPU µs/req | server CPU ns/alloc | errors |");
        md.AppendLine("|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (SweepPoint p in points.OrderBy(p => p.Allocations).ThenBy(p => p.Connections))
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {p.Allocations:N0} | {p.Connections} | {p.Mode} | {p.RequestsPerSecond.Median:N0} ({p.RequestsPerSecond.Min:N0}–{p.RequestsPerSecond.Max:N0}) | {p.P99Ms.Median:F2} | {p.ServerCpuUsPerRequest.Median:F1} | {p.ServerCpuNsPerAllocation.Median:F1} | {p.Errors} |");
        }

        return md.ToString();
    }

    private static async Task<string> WriteChartAsync(string directory, string name, string svg)
    {
        string path = Path.GetFullPath(Path.Combine(directory, name));
        await Report.WriteResultAsync(path, svg);
        return path;
    }
}
