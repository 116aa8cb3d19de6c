using System.Xml.Linq;
using RequestArena.LoadTest;

namespace RequestArena.AspNetCore.Tests.LoadTest;

public sealed class SweepChartTests
{
    [Theory]
    [InlineData(0.7, 1)]
    [InlineData(1, 1)]
    [InlineData(1.2, 2)]
    [InlineData(3, 5)]
    [InlineData(7, 10)]
    [InlineData(1234, 2000)]
    public void NiceCeiling_RoundsUpToOneTwoOrFiveTimesAPowerOfTen(double value, double expected)
    {
        Assert.Equal(expected, SweepChart.NiceCeiling(value), 9);
    }

    [Fact]
    public void Svg_OneLinePerMode_IsWellFormedWithAPointPerValueAndTheModesInTheLegend()
    {
        SweepChart.Line[] lines =
        [
            new("arena", [(10, new Spread(5, 4, 6)), (100, new Spread(6, 5, 7)), (1000, new Spread(6, 6, 6))]),
            new("pool & co", [(10, new Spread(9, 8, 10)), (100, new Spread(30, 25, 40)), (1000, new Spread(-3, -4, -2))]),
        ];

        XElement svg = XElement.Parse(SweepChart.Svg("title <x>", "allocations", "ns", lines));

        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(2, svg.Descendants(ns + "polyline").Count());
        Assert.Equal(6, svg.Descendants(ns + "circle").Count());
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "pool & co");
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "title <x>");

        // The negative value stays inside the plot: every point lies between the top and bottom gridlines.
        double[] gridY = [.. svg.Descendants(ns + "line").Where(l => (string?)l.Attribute("stroke") == "#e3e6ea").Select(l => (double)l.Attribute("y1")!)];
        Assert.All(svg.Descendants(ns + "circle"), c => Assert.InRange((double)c.Attribute("cy")!, gridY.Min(), gridY.Max()));
    }
}
