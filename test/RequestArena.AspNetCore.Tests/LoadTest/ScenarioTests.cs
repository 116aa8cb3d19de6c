using RequestArena.LoadTest;
using Xunit;

namespace RequestArena.AspNetCore.Tests.LoadTest;

public sealed class ScenarioTests
{
    [Fact]
    public void RoundOrder_OverAsManyRoundsAsModes_PutsEachModeInEachPositionOnce()
    {
        string[] modes = ["arena", "pool", "new"];

        string[][] rounds = [.. Enumerable.Range(1, modes.Length).Select(r => Scenario.RoundOrder(modes, r).ToArray())];

        Assert.Equal(["arena", "pool", "new"], rounds[0]);
        Assert.Equal(["pool", "new", "arena"], rounds[1]);
        Assert.Equal(["new", "arena", "pool"], rounds[2]);
        for (int position = 0; position < modes.Length; position++)
        {
            Assert.Equal(modes.Order(), rounds.Select(r => r[position]).Order());
        }
    }

    [Fact]
    public void RoundOrder_AfterAFullCycle_StartsOver()
    {
        string[] modes = ["api", "bare"];

        Assert.Equal(Scenario.RoundOrder(modes, 1), Scenario.RoundOrder(modes, 3));
        Assert.Equal(["bare", "api"], Scenario.RoundOrder(modes, 2));
    }

    [Fact]
    public void RoundOrder_RoundZero_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Scenario.RoundOrder(["arena"], 0).ToList());
    }

    [Fact]
    public void Records_2000Allocations_AsksFor500RecordsOfFourFieldsInEveryMode()
    {
        Scenario records = Scenario.Records(2000);

        Assert.Equal("records-2000", records.Name);
        Assert.Equal(2000, records.AllocationsPerRequest);
        Assert.Equal(["arena", "pool", "new"], records.Modes);
        Assert.Equal("/api/records?count=500&alloc=pool", records.PathFor("pool"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-4)]
    [InlineData(10)]
    public void Records_NotAPositiveMultipleOfFour_Throws(int allocations)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Scenario.Records(allocations));
    }

    [Theory]
    [InlineData("records-12", true)]
    [InlineData("records-2000", true)]
    [InlineData("records-10", false)]
    [InlineData("records-+8", false)]
    [InlineData("records-", false)]
    [InlineData("report-7", false)]
    public void TryFind_RecordsOfAnyMultipleOfFour_IsFoundAndNothingElseIsMadeUp(string name, bool found)
    {
        Assert.Equal(found, Scenario.TryFind(name, out Scenario scenario));
        Assert.Equal(found ? name : null, scenario?.Name);
    }

    [Fact]
    public void All_TransformScenarios_CompareRecyclableMemoryStreamAndTheOthersDoNot()
    {
        Assert.All(Scenario.All.Where(s => s.Name.StartsWith("transform-", StringComparison.Ordinal)), s => Assert.Contains("recyclable", s.Modes));
        Assert.All(Scenario.All.Where(s => !s.Name.StartsWith("transform-", StringComparison.Ordinal)), s => Assert.DoesNotContain("recyclable", s.Modes));
    }
}
