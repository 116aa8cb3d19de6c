using System.Diagnostics;

namespace RequestArena.Benchmarks;

/// <summary>
/// Cases of one process taking turns in short slices, so each slice of a case can be paired with the slices of the
/// others next to it. Pairing adjacent slices cancels the machine's drift, which on a shared 2-core guest is larger
/// than the effects measured.
/// </summary>
internal static class InterleavedRuns
{
    /// <summary>
    /// Warms every case up in turn, then runs <paramref name="rounds"/> rounds of one <paramref name="slice"/> per case;
    /// returns each case's µs per call, round by round.
    /// </summary>
    public static Dictionary<string, List<double>> Run(IReadOnlyList<(string Name, Func<Task> Run)> cases, int rounds, TimeSpan slice)
    {
        // Warm-up in the same order, so every case is compiled against the profile all of them produce.
        for (int i = 0; i < 5; i++)
        {
            foreach (var c in cases)
            {
                Measure(c.Run, slice * 2);
            }
        }

        var times = cases.ToDictionary(c => c.Name, _ => new List<double>());
        for (int round = 0; round < rounds; round++)
        {
            foreach (var c in cases)
            {
                times[c.Name].Add(Measure(c.Run, slice));
            }
        }

        return times;
    }

    /// <summary>The value at <paramref name="quantile"/> of an ascending list.</summary>
    public static double At(List<double> sorted, double quantile) => sorted[(int)(quantile * (sorted.Count - 1))];

    private static double Measure(Func<Task> call, TimeSpan slice)
    {
        long start = Stopwatch.GetTimestamp();
        int count = 0;
        while (Stopwatch.GetElapsedTime(start) < slice)
        {
            for (int i = 0; i < 50; i++)
            {
                call().GetAwaiter().GetResult();
            }

            count += 50;
        }

        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / count;
    }
}
