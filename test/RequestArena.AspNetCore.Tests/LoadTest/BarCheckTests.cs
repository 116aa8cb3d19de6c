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
    public void Evaluate_Report200VersusPool_IsJudgedOnTheMedianOfRoundByRoundRatios()
    {
        // The medians tie (1.0), but arena trails pool in two rounds of three: per round the median is 0.9.
        RunFigures[] runs =
        [
            Run("arena", 1, 90), Run("pool", 1, 100), Run("new", 1, 50),
            Run("arena", 2, 100), Run("pool", 2, 120), Run("new", 2, 50),
            Run("arena", 3, 300), Run("pool", 3, 95), Run("new", 3, 50),
        ];

        BarCheck versusPool = Assert.Single(BarCheck.Evaluate(Summaries(runs), runs), b => b.Bar == "req/s arena/pool");

        Assert.True(versusPool.OnRounds);
        Assert.Equal(0.9, versusPool.Measured, 3);
        Assert.Equal(0.98, versusPool.Required);
        Assert.False(versusPool.Passed);
    }

    [Fact]
    public void Evaluate_Records2000At16_ChecksThroughputAgainstNewAndPoolAndTailAgainstNew()
    {
        RunFigures[] runs =
        [
            Run("arena", 1, 1000, "records-2000", p99: 1), Run("pool", 1, 150, "records-2000", p99: 9), Run("new", 1, 400, "records-2000", p99: 3),
        ];

        BarCheck[] bars = [.. BarCheck.Evaluate(Summaries(runs), runs)];

        Assert.Equal(3, bars.Length);
        BarCheck versusNew = Assert.Single(bars, b => b.Bar == "req/s arena/new");
        Assert.Equal(2.5, versusNew.Measured, 3);
        Assert.Equal(2.0, versusNew.Required);
        Assert.True(versusNew.Passed);
        BarCheck versusPool = Assert.Single(bars, b => b.Bar == "req/s arena/pool");
        Assert.Equal(1000.0 / 150, versusPool.Measured, 3);
        Assert.Equal(5.0, versusPool.Required);
        Assert.True(versusPool.Passed);
        BarCheck tail = Assert.Single(bars, b => b.Bar == "p99 arena/new");
        Assert.True(tail.AtMost);
        Assert.Equal(1.0 / 3, tail.Measured, 3);
        Assert.True(tail.Passed);
    }

    [Fact]
    public void Evaluate_Records2000ArenaOnlyTwiceAsFastAsPool_MissesThePoolBar()
    {
        RunFigures[] runs =
        [
            Run("arena", 1, 1000, "records-2000", p99: 1), Run("pool", 1, 500, "records-2000", p99: 2), Run("new", 1, 400, "records-2000", p99: 1.5),
        ];

        BarCheck[] bars = [.. BarCheck.Evaluate(Summaries(runs), runs)];

        Assert.False(Assert.Single(bars, b => b.Bar == "req/s arena/pool").Passed);
        Assert.False(Assert.Single(bars, b => b.Bar == "p99 arena/new").Passed);
        Assert.True(Assert.Single(bars, b => b.Bar == "req/s arena/new").Passed);
    }

    [Fact]
    public void Evaluate_Records2000AtAnotherConcurrency_HasNoBars()
    {
        RunFigures[] runs =
        [
            Run("arena", 1, 1000, "records-2000", connections: 128), Run("pool", 1, 150, "records-2000", connections: 128), Run("new", 1, 400, "records-2000", connections: 128),
        ];

        Assert.Empty(BarCheck.Evaluate(Summaries(runs), runs));
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

    private static RunFigures Run(string mode, int round, double requestsPerSecond, string scenario = "report-200", double p99 = 3, int connections = 16) =>
        new(scenario, connections, mode, round, Requests: 1000, Errors: 0, requestsPerSecond,
            P50Ms: 1, P90Ms: 2, P99Ms: p99, MaxMs: 4, Gen0Per10k: mode == "new" ? 20 : 0.5, Gen1Per10k: 0, Gen2Per10k: 0,
            AllocatedBytesPerRequest: 500, ArenaBytesPerRequest: 0, WorkingSetMiB: 90, ServerCpuUsPerRequest: 80);

    private static ModeSummary[] Summaries(RunFigures[] runs) =>
        [.. runs.GroupBy(r => (r.Scenario, r.Connections, r.Mode)).Select(g => ModeSummary.Of([.. g]))];

    private static Spread Round3(Spread s) => new(Math.Round(s.Median, 3), Math.Round(s.Min, 3), Math.Round(s.Max, 3));
}
