namespace RequestArena.LoadTest;

/// <summary>
/// One of issue 6's bars, evaluated on medians from the same run. <see cref="PerRound"/> is the spread of the same
/// ratio taken round by round (each mode against the other mode's run of the same round): on a noisy machine it shows
/// how far one run's verdict can be trusted. It is null for ratios whose runs are not compared round by round.
/// </summary>
internal sealed record BarCheck(string Scenario, int Connections, string Bar, double Measured, double Required, bool AtMost, bool Passed, Spread? PerRound = null)
{
    public static IEnumerable<BarCheck> Evaluate(IReadOnlyList<ModeSummary> summaries, IReadOnlyList<RunFigures> runs)
    {
        foreach (var group in summaries.GroupBy(s => (s.Scenario, s.Connections)))
        {
            var by = group.ToDictionary(s => s.Mode);
            RunFigures[] own = [.. runs.Where(r => r.Scenario == group.Key.Scenario && r.Connections == group.Key.Connections)];
            Spread Rounds(string a, string b, Func<RunFigures, double> pick) => PerRoundRatios(own, a, b, pick);

            if (group.Key.Scenario == "report-200" && by.TryGetValue("arena", out var arena) && by.TryGetValue("pool", out var pool) && by.TryGetValue("new", out var fresh))
            {
                yield return AtLeast(group.Key, "req/s arena/new", Ratio(arena.RequestsPerSecond.Median, fresh.RequestsPerSecond.Median), 1.05, Rounds("arena", "new", r => r.RequestsPerSecond));
                yield return AtLeast(group.Key, "req/s arena/pool", Ratio(arena.RequestsPerSecond.Median, pool.RequestsPerSecond.Median), 1.00, Rounds("arena", "pool", r => r.RequestsPerSecond));
                yield return Most(group.Key, "gen0/10k arena/new", Ratio(arena.Gen0Per10k.Median, fresh.Gen0Per10k.Median), 0.10, null);
                yield return Most(group.Key, "alloc B/req arena/new", Ratio(arena.AllocatedBytesPerRequest.Median, fresh.AllocatedBytesPerRequest.Median), 0.20, null);
                yield return Most(group.Key, "p99 arena/pool", Ratio(arena.P99Ms.Median, pool.P99Ms.Median), 1.00, Rounds("arena", "pool", r => r.P99Ms));
            }

            if (group.Key.Scenario == "hello" && by.TryGetValue("api", out var with) && by.TryGetValue("bare", out var without))
            {
                yield return AtLeast(group.Key, "req/s middleware/none", Ratio(with.RequestsPerSecond.Median, without.RequestsPerSecond.Median), 0.98, Rounds("api", "bare", r => r.RequestsPerSecond));
            }
        }
    }

    // 0/0 (no collections in either mode) counts as equal.
    public static double Ratio(double a, double b) => b == 0 ? (a == 0 ? 0 : double.PositiveInfinity) : a / b;

    // Rounds where either mode is missing or could not measure the figure are left out.
    internal static Spread PerRoundRatios(IReadOnlyList<RunFigures> runs, string modeA, string modeB, Func<RunFigures, double> pick) =>
        Spread.Of(
            from a in runs
            where a.Mode == modeA
            join b in runs.Where(r => r.Mode == modeB) on a.Round equals b.Round
            select Ratio(pick(a), pick(b)));

    private static BarCheck AtLeast((string Scenario, int Connections) key, string bar, double measured, double required, Spread? perRound) =>
        new(key.Scenario, key.Connections, bar, measured, required, AtMost: false, measured >= required, perRound);

    private static BarCheck Most((string Scenario, int Connections) key, string bar, double measured, double required, Spread? perRound) =>
        new(key.Scenario, key.Connections, bar, measured, required, AtMost: true, measured <= required, perRound);
}
