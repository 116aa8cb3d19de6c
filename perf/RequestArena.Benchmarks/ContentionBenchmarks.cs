using BenchmarkDotNet.Attributes;

namespace RequestArena.Benchmarks;

/// <summary>
/// 100,000 allocations of 32 bytes on one arena, made by one thread or split over two threads allocating at the
/// same time. With per-thread chunks two threads should finish sooner, not collapse on a shared counter.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ContentionBenchmarks
{
    private const int Total = 100_000;

    private SlabPool _pool = null!;
    private Arena _arena = null!;
    private Arena _second = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pool = new SlabPool(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan });
        _arena = new Arena(_pool);
        _second = new Arena(_pool);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _arena.Dispose();
        _second.Dispose();
        _pool.Dispose();
    }

    [Benchmark(Baseline = true, Description = "1 thread")]
    public int OneThread()
    {
        int done = Work(_arena, Total);
        _arena.Reset();
        return done;
    }

    [Benchmark(Description = "2 threads, one arena")]
    public int TwoThreads()
    {
        int a = 0, b = 0;
        Parallel.Invoke(() => a = Work(_arena, Total / 2), () => b = Work(_arena, Total / 2));
        _arena.Reset();
        return a + b;
    }

    // The same split with nothing shared but the slab pool: what two threads cost on this machine apart from the arena.
    [Benchmark(Description = "2 threads, an arena each")]
    public int TwoThreadsTwoArenas()
    {
        int a = 0, b = 0;
        Parallel.Invoke(() => a = Work(_arena, Total / 2), () => b = Work(_second, Total / 2));
        _arena.Reset();
        _second.Reset();
        return a + b;
    }

    private static int Work(Arena arena, int count)
    {
        int total = 0;
        for (int i = 0; i < count; i++)
        {
            total += arena.AllocateMemory(32).Length;
        }

        return total;
    }
}
