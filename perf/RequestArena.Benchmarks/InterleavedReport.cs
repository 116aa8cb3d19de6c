using System.Globalization;

namespace RequestArena.Benchmarks;

/// <summary>
/// <c>--interleaved-report</c>: the <see cref="ReportBenchmarks"/> cases in one process, taking turns in short slices,
/// each figure paired with the baseline's (<c>pool</c>) slice next to it. BenchmarkDotNet gives every case its own
/// process, so the JIT's profile sees one kind of memory there; a server serving several kinds (arrays from Kestrel
/// and ArrayPool, arena leases) compiles its hot JSON code once for all of them, and this is the way to measure that.
/// </summary>
internal static class InterleavedReport
{
    public const string Switch = "--interleaved-report";

    private const int Rounds = 40;
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(150);

    public static void Run()
    {
        var benchmarks = new ReportBenchmarks();
        benchmarks.Setup();
        try
        {
            IReadOnlyList<(string Name, Func<Task> Run)> cases = benchmarks.Cases();
            string baseline = cases[0].Name;

            Dictionary<string, List<double>> times = InterleavedRuns.Run(cases, Rounds, Slice);

            List<double> baselineTimes = times[baseline];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Rounds} rounds of {Slice.TotalMilliseconds:0} ms per case, taking turns in one process; µs per request; ratios are medians of each round's time over the same round's {baseline}."));
            Console.WriteLine();
            Console.WriteLine($"| case | median µs | p10 µs | min µs | paired ratio to {baseline} (p10–p90) |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var c in cases)
            {
                List<double> own = times[c.Name];
                List<double> sorted = [.. own.Order()];
                List<double> ratios = [.. own.Zip(baselineTimes, (x, p) => x / p).Order()];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {c.Name} | {InterleavedRuns.At(sorted, 0.5):F2} | {InterleavedRuns.At(sorted, 0.1):F2} | {sorted[0]:F2} | {InterleavedRuns.At(ratios, 0.5):F3} ({InterleavedRuns.At(ratios, 0.1):F3}–{InterleavedRuns.At(ratios, 0.9):F3}) |"));
            }
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }
}
