namespace RequestArena.LoadTest;

/// <summary>
/// One bar, evaluated on figures from the same run. <see cref="Measured"/> is the ratio of the medians, unless
/// <see cref="OnRounds"/>: then it is the median of the same ratio taken round by round (each mode against the other
/// mode's run of the same round), which drift between rounds cannot move. <see cref="PerRound"/> is that spread for
/// every ratio compared round by round: on a noisy machine it shows how far one run's verdict can be trusted. It is
/// null for ratios whose runs are not compared round by round.
/// </summary>
internal sealed record BarCheck(string Scenario, int Connections, string Bar, double Measured, double Required, bool AtMost, bool Passed, Spread? PerRound = null, bool OnRounds = false)
{
    /// <summary>The concurrency the records and report bars are set at.</summary>
    public const int BarConnections = 16;

    public static IEnumerable<BarCheck> Evaluate(IReadOnlyList<ModeSummary> summaries, IReadOnlyList<RunFigures> runs)
    {
        foreach (var group in summaries.GroupBy(s => (s.Scenario, s.Connections)))
        {
            var by = group.ToDictionary(s => s.Mode);
            RunFigures[] own = [.. runs.Where(r => r.Scenario == group.Key.Scenario && r.Connections == group.Key.Connections)];
            Spread Rounds(string a, string b, Func<RunFigures, double> pick) => PerRoundRatios(own, a, b, pick);
            bool atBar = group.Key.Connections == BarConnections;

            if (group.Key.Scenario == "records-2000" && atBar && by.TryGetValue("arena", out var arena) && by.TryGetValue("pool", out var pool) && by.TryGetValue("new", out var fresh))
            {
                yield return AtLeast(group.Key, "req/s arena/new", Ratio(arena.RequestsPerSecond.Median, fresh.RequestsPerSecond.Median), 2.0, Rounds("arena", "new", r => r.RequestsPerSecond));
                yield return AtLeast(group.Key, "req/s arena/pool", Ratio(arena.RequestsPerSecond.Median, pool.RequestsPerSecond.Median), 5.0, Rounds("arena", "pool", r => r.RequestsPerSecond));
                yield return Most(group.Key, "p99 arena/new", Ratio(arena.P99Ms.Median, fresh.P99Ms.Median), 0.5, Rounds("arena", "new", r => r.P99Ms));
            }

            if (group.Key.Scenario == "report-200" && atBar && by.TryGetValue("arena", out arena) && by.TryGetValue("pool", out pool) && by.TryGetValue("new", out fresh))
            {
                yield return AtLeast(group.Key, "req/s arena/new", Ratio(arena.RequestsPerSecond.Median, fresh.RequestsPerSecond.Median), 1.05, Rounds("arena", "new", r => r.RequestsPerSecond));
                yield return AtLeastOnRounds(group.Key, "req/s arena/pool", 0.98, Rounds("arena", "pool", r => r.RequestsPerSecond));
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

    // A NaN median (no round had both modes) fails: a bar nobody measured is not met.
    private static BarCheck AtLeastOnRounds((string Scenario, int Connections) key, string bar, double required, Spread perRound) =>
        new(key.Scenario, key.Connections, bar, perRound.Median, required, AtMost: false, perRound.Median >= required, perRound, OnRounds: true);

    private static BarCheck Most((string Scenario, int Connections) key, string bar, double measured, double required, Spread? perRound) =>
        new(key.Scenario, key.Connections, bar, measured, required, AtMost: true, measured <= required, perRound);
}
