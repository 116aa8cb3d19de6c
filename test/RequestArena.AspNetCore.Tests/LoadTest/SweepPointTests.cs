using RequestArena.LoadTest;

namespace RequestArena.AspNetCore.Tests.LoadTest;

public sealed class SweepPointTests
{
    [Fact]
    public void Of_CpuPerRequest_DividesItByTheAllocationsInNanoseconds()
    {
        SweepPoint point = SweepPoint.Of(1000, Summary("arena", cpuUs: [40, 50, 60]));

        Assert.Equal(new Spread(50, 40, 60), point.ServerCpuUsPerRequest);
        Assert.Equal(new Spread(50, 40, 60), point.ServerCpuNsPerAllocation);
        Assert.Equal(1000, point.Allocations);
    }

    [Fact]
    public void MarginalCpuPerAllocation_IsTheSlopeBetweenNeighbouringCounts_PerMode()
    {
        // A fixed 30 µs per request plus 20 ns per allocation for arena; pool's cost per allocation grows.
        SweepPoint[] points =
        [
            SweepPoint.Of(100, Summary("arena", cpuUs: [32])),
            SweepPoint.Of(1000, Summary("arena", cpuUs: [50])),
            SweepPoint.Of(10_000, Summary("arena", cpuUs: [230])),
            SweepPoint.Of(100, Summary("pool", cpuUs: [35])),
            SweepPoint.Of(1000, Summary("pool", cpuUs: [80])),
            SweepPoint.Of(10_000, Summary("pool", cpuUs: [980])),
        ];

        IReadOnlyList<SweepChart.Line> lines = SweepPoint.MarginalCpuPerAllocation(points);

        SweepChart.Line arena = Assert.Single(lines, l => l.Mode == "arena");
        Assert.Equal([1000.0, 10_000.0], arena.Points.Select(p => p.X));
        Assert.All(arena.Points, p => Assert.Equal(20, p.Y.Median, 6));
        SweepChart.Line pool = Assert.Single(lines, l => l.Mode == "pool");
        Assert.Equal([50.0, 100.0], pool.Points.Select(p => Math.Round(p.Y.Median, 6)));
    }

    [Fact]
    public void MarginalCpuPerAllocation_OnePointPerMode_HasNoSlope()
    {
        IReadOnlyList<SweepChart.Line> lines = SweepPoint.MarginalCpuPerAllocation([SweepPoint.Of(100, Summary("new", cpuUs: [40]))]);

        Assert.Empty(Assert.Single(lines).Points);
    }

    private static ModeSummary Summary(string mode, double[] cpuUs) =>
        ModeSummary.Of([.. cpuUs.Select((cpu, i) => new RunFigures(
            "records-x", 16, mode, i + 1, Requests: 100, Errors: 0, RequestsPerSecond: 1000,
            P50Ms: 1, P90Ms: 2, P99Ms: 3, MaxMs: 4, Gen0Per10k: 0, Gen1Per10k: 0, Gen2Per10k: 0,
            AllocatedBytesPerRequest: 0, ArenaBytesPerRequest: 0, WorkingSetMiB: 90, ServerCpuUsPerRequest: cpu))]);
}
