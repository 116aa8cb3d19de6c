namespace RequestArena.LoadTest;

/// <summary>The rounds of one mode in one scenario at one concurrency, summarised.</summary>
internal sealed record ModeSummary(
    string Scenario, int Connections, string Mode, int Rounds, long Errors,
    Spread RequestsPerSecond, Spread P50Ms, Spread P90Ms, Spread P99Ms, Spread MaxMs,
    Spread Gen0Per10k, Spread Gen1Per10k, Spread Gen2Per10k,
    Spread AllocatedBytesPerRequest, Spread ArenaBytesPerRequest, Spread WorkingSetMiB, Spread ServerCpuUsPerRequest)
{
    public static ModeSummary Of(IReadOnlyList<RunFigures> runs)
    {
        RunFigures first = runs[0];
        Spread S(Func<RunFigures, double> pick) => Spread.Of(runs.Select(pick));
        return new ModeSummary(
            first.Scenario, first.Connections, first.Mode, runs.Count, runs.Sum(r => r.Errors),
            S(r => r.RequestsPerSecond), S(r => r.P50Ms), S(r => r.P90Ms), S(r => r.P99Ms), S(r => r.MaxMs),
            S(r => r.Gen0Per10k), S(r => r.Gen1Per10k), S(r => r.Gen2Per10k),
            S(r => r.AllocatedBytesPerRequest), S(r => r.ArenaBytesPerRequest), S(r => r.WorkingSetMiB), S(r => r.ServerCpuUsPerRequest));
    }
}
