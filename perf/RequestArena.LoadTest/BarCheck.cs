namespace RequestArena.LoadTest;

/// <summary>One of issue 6's bars, evaluated on medians from the same run.</summary>
internal sealed record BarCheck(string Scenario, int Connections, string Bar, double Measured, double Required, bool AtMost, bool Passed)
{
    public static IEnumerable<BarCheck> Evaluate(IReadOnlyList<ModeSummary> summaries)
    {
        foreach (var group in summaries.GroupBy(s => (s.Scenario, s.Connections)))
        {
            var by = group.ToDictionary(s => s.Mode);
            if (group.Key.Scenario == "report-200" && by.TryGetValue("arena", out var arena) && by.TryGetValue("pool", out var pool) && by.TryGetValue("new", out var fresh))
            {
                yield return AtLeast(group.Key, "req/s arena/new", Ratio(arena.RequestsPerSecond.Median, fresh.RequestsPerSecond.Median), 1.05);
                yield return AtLeast(group.Key, "req/s arena/pool", Ratio(arena.RequestsPerSecond.Median, pool.RequestsPerSecond.Median), 1.00);
                yield return Most(group.Key, "gen0/10k arena/new", Ratio(arena.Gen0Per10k.Median, fresh.Gen0Per10k.Median), 0.10);
                yield return Most(group.Key, "alloc B/req arena/new", Ratio(arena.AllocatedBytesPerRequest.Median, fresh.AllocatedBytesPerRequest.Median), 0.20);
                yield return Most(group.Key, "p99 arena/pool", Ratio(arena.P99Ms.Median, pool.P99Ms.Median), 1.00);
            }

            if (group.Key.Scenario == "hello" && by.TryGetValue("api", out var with) && by.TryGetValue("bare", out var without))
            {
                yield return AtLeast(group.Key, "req/s middleware/none", Ratio(with.RequestsPerSecond.Median, without.RequestsPerSecond.Median), 0.98);
            }
        }
    }

    // 0/0 (no collections in either mode) counts as equal.
    public static double Ratio(double a, double b) => b == 0 ? (a == 0 ? 0 : double.PositiveInfinity) : a / b;

    private static BarCheck AtLeast((string Scenario, int Connections) key, string bar, double measured, double required) =>
        new(key.Scenario, key.Connections, bar, measured, required, AtMost: false, measured >= required);

    private static BarCheck Most((string Scenario, int Connections) key, string bar, double measured, double required) =>
        new(key.Scenario, key.Connections, bar, measured, required, AtMost: true, measured <= required);
}
