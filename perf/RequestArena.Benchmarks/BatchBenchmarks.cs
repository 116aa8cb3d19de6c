using System.Buffers;
using BenchmarkDotNet.Attributes;

namespace RequestArena.Benchmarks;

/// <summary>
/// The Pipelines.Sockets.Unofficial arena workload: 100 batches of 10–99 allocations of 0–1023 ints, released per
/// batch. Every variant writes one value into each non-empty allocation so none of them can skip touching memory.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class BatchBenchmarks
{
    private int[][] _batches = null!;
    private int[][] _held = null!;
    private SlabPool _pool = null!;
    private Arena _zeroed = null!;
    private Arena _unzeroed = null!;
    private Arena _clearOnHandOut = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(12345);
        _batches = new int[100][];
        for (int b = 0; b < _batches.Length; b++)
        {
            _batches[b] = new int[random.Next(10, 100)];
            for (int i = 0; i < _batches[b].Length; i++)
            {
                _batches[b][i] = random.Next(0, 1024);
            }
        }

        _held = new int[100][];
        _pool = new SlabPool(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan });
        _zeroed = new Arena(_pool);
        _unzeroed = new Arena(_pool, new ArenaOptions { ZeroMemory = false });
        _clearOnHandOut = new Arena(_pool, new ArenaOptions { ZeroMemory = false });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _zeroed.Dispose();
        _unzeroed.Dispose();
        _clearOnHandOut.Dispose();
        _pool.Dispose();
    }

    [Benchmark(Baseline = true, Description = "new int[]")]
    public long NewArray()
    {
        long total = 0;
        foreach (int[] batch in _batches)
        {
            for (int i = 0; i < batch.Length; i++)
            {
                int[] array = new int[batch[i]];
                if (array.Length > 0)
                {
                    array[0] = i;
                }

                total += array.Length;
            }
        }

        return total;
    }

    [Benchmark(Description = "ArrayPool<int> (held per batch)")]
    public long ArrayPool()
    {
        long total = 0;
        int[][] held = _held;
        foreach (int[] batch in _batches)
        {
            for (int i = 0; i < batch.Length; i++)
            {
                int[] array = ArrayPool<int>.Shared.Rent(batch[i]);
                if (batch[i] > 0)
                {
                    array[0] = i;
                }

                held[i] = array;
                total += batch[i];
            }

            for (int i = 0; i < batch.Length; i++)
            {
                ArrayPool<int>.Shared.Return(held[i]);
            }
        }

        return total;
    }

    [Benchmark(Description = "arena, zeroed (default)")]
    public long ArenaZeroed() => Run(_zeroed);

    [Benchmark(Description = "arena, unzeroed")]
    public long ArenaUnzeroed() => Run(_unzeroed);

    [Benchmark(Description = "arena, zeroed at hand-out instead of at return")]
    public long ArenaClearOnHandOut()
    {
        Arena arena = _clearOnHandOut;
        long total = 0;
        foreach (int[] batch in _batches)
        {
            for (int i = 0; i < batch.Length; i++)
            {
                Span<int> span = arena.AllocateClearOnHandOut<int>(batch[i]);
                if (span.Length > 0)
                {
                    span[0] = i;
                }

                total += span.Length;
            }

            arena.Reset();
        }

        return total;
    }

    private long Run(Arena arena)
    {
        long total = 0;
        foreach (int[] batch in _batches)
        {
            for (int i = 0; i < batch.Length; i++)
            {
                Span<int> span = arena.Allocate<int>(batch[i]);
                if (span.Length > 0)
                {
                    span[0] = i;
                }

                total += span.Length;
            }

            arena.Reset();
        }

        return total;
    }
}
