using System.Diagnostics;
using System.Globalization;

namespace RequestArena.Benchmarks;

/// <summary>
/// <c>--interleaved-handle [processes]</c>: the request's injected handle against the raw arena, taking turns in one
/// process (<see cref="InterleavedRuns"/>), in several processes one after another. BenchmarkDotNet times each row in
/// a process of its own, minutes apart, and on a shared guest the machine's speed drifts by more than the handle's
/// cost between them; here every slice of the handle is divided by the raw arena's slice next to it, in the same
/// process, so the ratio is the handle's and each process gives its own.
/// </summary>
/// <remarks>
/// The cases are the <see cref="HandlerPathBenchmarks"/> rows the handle's bar is judged on, with the same set-up:
/// the raw arena's 1000 allocations and reset, the minimal-API request whose handler makes 1000 allocations through
/// its injected <see cref="IModuleAllocator"/>, the same routed request with one allocation (its fixed cost: routing,
/// binding, the allocator from the request's services, the arena rented and released), the one-allocation request
/// without routing or binding, and the handle without a request around it. The handle's cost per allocation is the
/// injected request less the same request with one allocation, over the raw arena, slice by slice.
/// </remarks>
internal static class InterleavedHandle
{
    public const string Switch = "--interleaved-handle";

    private const string ChildSwitch = "--interleaved-handle-process";
    private const int Rounds = 40;
    private const int DefaultProcesses = 5;
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(100);

    /// <summary>Runs the measurement in child processes, one after another, and prints one row per process.</summary>
    public static int Run(string[] args)
    {
        int processes = DefaultProcesses;
        if (args.Length > 1 && (!int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out processes) || processes is < 1 or > 50))
        {
            Console.Error.WriteLine($"{Switch} takes the number of processes, 1 to 50; got '{args[1]}'.");
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{processes} processes, each {Rounds} rounds of {Slice.TotalMilliseconds:0} ms per case taking turns; ratios are the median (p10–p90) over the process's rounds of each round's figure over the same round's raw arena."));
        Console.WriteLine();
        Console.WriteLine("| process | raw arena µs | injected request µs | injected, one allocation µs | one allocation, no routing µs | handle alone µs | injected, per allocation, / raw | handle alone / raw |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (int i = 1; i <= processes; i++)
        {
            string host = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
            var start = new ProcessStartInfo(host) { RedirectStandardOutput = true };
            if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            {
                start.ArgumentList.Add(typeof(InterleavedHandle).Assembly.Location);
            }

            start.ArgumentList.Add(ChildSwitch);
            using Process child = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {host}.");
            string row = child.StandardOutput.ReadToEnd().Trim();
            child.WaitForExit();
            if (child.ExitCode != 0)
            {
                Console.Error.WriteLine($"Process {i} exited with {child.ExitCode}.");
                return 1;
            }

            Console.WriteLine($"| {i} {row}");
        }

        return 0;
    }

    /// <summary>Whether <paramref name="args"/> ask for one measuring process.</summary>
    public static bool IsChild(string[] args) => args is [ChildSwitch];

    /// <summary>One process's measurement, printed as the rest of its table row.</summary>
    public static void RunChild()
    {
        var benchmarks = new HandlerPathBenchmarks();
        benchmarks.Setup();
        try
        {
            const string Raw = "raw", Injected = "injected", One = "one", InjectedOne = "injected-one", Alone = "alone";
            Dictionary<string, List<double>> times = InterleavedRuns.Run(
                [
                    (Raw, () => { benchmarks.RawArena(); return Task.CompletedTask; }),
                    (Injected, benchmarks.MinimalApiInjected),
                    (One, benchmarks.OneAllocation),
                    (InjectedOne, benchmarks.MinimalApiOneAllocation),
                    (Alone, () => { benchmarks.HandleAlone(); return Task.CompletedTask; }),
                ],
                Rounds,
                Slice);

            List<double> raw = times[Raw];
            List<double> perAllocation = [.. Enumerable.Range(0, Rounds).Select(r => (times[Injected][r] - times[InjectedOne][r]) / raw[r]).Order()];
            List<double> alone = [.. Enumerable.Range(0, Rounds).Select(r => times[Alone][r] / raw[r]).Order()];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Median(raw):F2} | {Median(times[Injected]):F2} | {Median(times[InjectedOne]):F2} | {Median(times[One]):F2} | {Median(times[Alone]):F2} | {Span(perAllocation)} | {Span(alone)} |"));
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }

    private static double Median(List<double> values) => InterleavedRuns.At([.. values.Order()], 0.5);

    private static string Span(List<double> sorted) => string.Create(CultureInfo.InvariantCulture,
        $"{InterleavedRuns.At(sorted, 0.5):F2} ({InterleavedRuns.At(sorted, 0.1):F2}–{InterleavedRuns.At(sorted, 0.9):F2})");
}
