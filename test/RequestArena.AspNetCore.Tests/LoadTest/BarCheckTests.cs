using RequestArena.LoadTest;
using Xunit;

namespace RequestArena.AspNetCore.Tests.LoadTest;

public sealed class BarCheckTests
{
    [Fact]
    public void Evaluate_Report200_ComparesMediansAndEachRoundWithItsOwnRound()
    {
        // Round 2 is slow for every mode: compared within the round it is as good as the others.
        RunFigures[] runs =
        [
            Run("arena", 1, 100), Run("pool", 1, 100), Run("new", 1, 90),
            Run("arena", 2, 50), Run("pool", 2, 50), Run("new", 2, 45),
            Run("arena", 3, 110), Run("pool", 3, 100), Run("new", 3, 100),
        ];

        BarCheck[] bars = [.. BarCheck.Evaluate(Summaries(runs), runs)];

        BarCheck versusPool = Assert.Single(bars, b => b.Bar == "req/s arena/pool");
        Assert.Equal(1.0, versusPool.Measured, 3);
        Assert.True(versusPool.Passed);
        Assert.Equal(new Spread(1.0, 1.0, 1.1), Round3(versusPool.PerRound!.Value));

        BarCheck versusNew = Assert.Single(bars, b => b.Bar == "req/s arena/new");
        Assert.Equal(100.0 / 90, versusNew.Measured, 3);
        Assert.Equal(new Spread(1.111, 1.1, 1.111), Round3(versusNew.PerRound!.Value));

        Assert.Null(Assert.Single(bars, b => b.Bar == "gen0/10k arena/new").PerRound);
    }

    [Fact]
    public void PerRoundRatios_RoundMissingForOneMode_LeavesThatRoundOut()
    {
        RunFigures[] runs = [Run("api", 1, 100), Run("bare", 1, 50), Run("api", 2, 100)];

        Spread spread = BarCheck.PerRoundRatios(runs, "api", "bare", r => r.RequestsPerSecond);

        Assert.Equal(new Spread(2, 2, 2), spread);
    }

    [Fact]
    public void PerRoundRatios_NoCommonRound_IsNaN()
    {
        RunFigures[] runs = [Run("api", 1, 100), Run("bare", 2, 50)];

        Assert.True(double.IsNaN(BarCheck.PerRoundRatios(runs, "api", "bare", r => r.RequestsPerSecond).Median));
    }

    private static RunFigures Run(string mode, int round, double requestsPerSecond) =>
        new("report-200", 16, mode, round, Requests: 1000, Errors: 0, requestsPerSecond,
            P50Ms: 1, P90Ms: 2, P99Ms: 3, MaxMs: 4, Gen0Per10k: mode == "new" ? 20 : 0.5, Gen1Per10k: 0, Gen2Per10k: 0,
            AllocatedBytesPerRequest: 500, ArenaBytesPerRequest: 0, WorkingSetMiB: 90, ServerCpuUsPerRequest: 80);

    private static ModeSummary[] Summaries(RunFigures[] runs) =>
        [.. runs.GroupBy(r => r.Mode).Select(g => ModeSummary.Of([.. g]))];

    private static Spread Round3(Spread s) => new(Math.Round(s.Median, 3), Math.Round(s.Min, 3), Math.Round(s.Max, 3));
}
