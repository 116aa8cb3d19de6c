using System.Diagnostics;
using System.Globalization;

namespace RequestArena.Benchmarks;

/// <summary>
/// <c>--interleaved-report</c>: the <see cref="ReportBenchmarks"/> cases in one process, taking turns in short slices,
/// each figure paired with the baseline's (<c>pool</c>) slice next to it. BenchmarkDotNet gives every case its own
/// process, so the JIT's profile sees one kind of memory there; a server serving several kinds (arrays from Kestrel
/// and ArrayPool, arena leases) compiles its hot JSON code once for all of them, and this is the way to measure that.
/// Pairing
/// adjacent slices cancels the machine's drift, which on a shared 2-core guest is larger than the effects.
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

            // Warm-up in the same order, so every case is compiled against the profile all of them produce.
            for (int i = 0; i < 5; i++)
            {
                foreach (var c in cases)
                {
                    Measure(c.Run, Slice * 2);
                }
            }

            var times = cases.ToDictionary(c => c.Name, _ => new List<double>());
            for (int round = 0; round < Rounds; round++)
            {
                foreach (var c in cases)
                {
                    times[c.Name].Add(Measure(c.Run, Slice));
                }
            }

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
                    $"| {c.Name} | {At(sorted, 0.5):F2} | {At(sorted, 0.1):F2} | {sorted[0]:F2} | {At(ratios, 0.5):F3} ({At(ratios, 0.1):F3}–{At(ratios, 0.9):F3}) |"));
            }
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }

    private static double At(List<double> sorted, double quantile) => sorted[(int)(quantile * (sorted.Count - 1))];

    private static double Measure(Func<Task> request, TimeSpan slice)
    {
        long start = Stopwatch.GetTimestamp();
        int count = 0;
        while (Stopwatch.GetElapsedTime(start) < slice)
        {
            for (int i = 0; i < 50; i++)
            {
                request().GetAwaiter().GetResult();
            }

            count += 50;
        }

        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / count;
    }
}
