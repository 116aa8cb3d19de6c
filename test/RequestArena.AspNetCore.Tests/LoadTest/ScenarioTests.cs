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
}
