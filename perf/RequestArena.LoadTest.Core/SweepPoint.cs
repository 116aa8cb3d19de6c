namespace RequestArena.LoadTest;

/// <summary>One mode at one point of the sweep: its medians over the rounds.</summary>
internal sealed record SweepPoint(
    int Allocations, int Connections, string Mode, long Errors,
    Spread RequestsPerSecond, Spread P99Ms, Spread ServerCpuUsPerRequest, Spread ServerCpuNsPerAllocation)
{
    public static SweepPoint Of(int allocations, ModeSummary summary)
    {
        Spread cpu = summary.ServerCpuUsPerRequest;
        double perAllocation = 1000.0 / allocations;
        return new SweepPoint(
            allocations, summary.Connections, summary.Mode, summary.Errors,
            summary.RequestsPerSecond, summary.P99Ms, cpu,
            new Spread(cpu.Median * perAllocation, cpu.Min * perAllocation, cpu.Max * perAllocation));
    }

    /// <summary>
    /// Per mode, (CPU per request at N − CPU per request at the previous N) / (N − previous N), in ns, at each N but the
    /// smallest; the spread is of the medians only, so min and max equal the median.
    /// </summary>
    internal static IReadOnlyList<SweepChart.Line> MarginalCpuPerAllocation(IEnumerable<SweepPoint> points) =>
        [.. points.GroupBy(p => p.Mode).Select(g =>
        {
            SweepPoint[] ordered = [.. g.OrderBy(p => p.Allocations)];
            return new SweepChart.Line(g.Key, [.. ordered.Zip(ordered.Skip(1), (a, b) =>
            {
                double ns = (b.ServerCpuUsPerRequest.Median - a.ServerCpuUsPerRequest.Median) * 1000 / (b.Allocations - a.Allocations);
                return ((double)b.Allocations, new Spread(ns, ns, ns));
            })]);
        })];
}
