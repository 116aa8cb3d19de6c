using BenchmarkDotNet.Attributes;
using Pipelines.Sockets.Unofficial.Arenas;
using RequestArena.Pipelines;
using PipelinesArenaOptions = Pipelines.Sockets.Unofficial.Arenas.ArenaOptions;

namespace RequestArena.Benchmarks;

/// <summary>
/// The Pipelines.Sockets.Unofficial batch workload (100 batches of 10–99 allocations of 0–1023 ints, reset per batch)
/// on a Pipelines <c>Arena&lt;int&gt;</c>: with the peer's default allocator (pooled arrays, no zeroing, no
/// use-after-release check) against blocks from a RequestArena arena through <see cref="SlabAllocator{T}"/> (zeroed,
/// released with their source, checked on every span access). Each allocation gets one write, so every variant
/// touches its memory.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class PipelinesArenaBenchmarks
{
    // One batch allocates at most 99 × 1023 ints (about 400 KB); a kept arena that reuses its blocks stays near that.
    private const long KeptSourceBound = 2 * 1024 * 1024;

    private int[][] _batches = null!;
    private SlabPool _pool = null!;
    private Arena _source = null!;
    private Arena<int> _peerDefault = null!;
    private Arena<int> _slabBacked = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(12345);
        _batches = Enumerable.Range(0, 100)
            .Select(_ => Enumerable.Range(0, random.Next(10, 100)).Select(_ => random.Next(0, 1024)).ToArray())
            .ToArray();

        _pool = new SlabPool(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan });
        _source = new Arena(_pool);

        // Both kept arenas retain every block across their resets. Under the peer's default retention a kept arena
        // drops the blocks it did not use recently and asks for new ones; over a source that is never reset the
        // dropped blocks stay charged to it, so the row would time the source's growth, not the allocator.
        var keepEverything = new PipelinesArenaOptions(retentionPolicy: RetentionPolicy.Everything);
        _peerDefault = new Arena<int>(keepEverything);
        _slabBacked = new Arena<int>(keepEverything, new SlabAllocator<int>(_source));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // A kept arena that still drew new blocks from its source would make the kept row time the source's growth.
        if (_source.AllocatedBytes > KeptSourceBound)
        {
            throw new InvalidOperationException($"The kept Pipelines arena drew {_source.AllocatedBytes} bytes from its source; it should reuse its blocks.");
        }

        _peerDefault.Dispose();
        _slabBacked.Dispose();
        _source.Dispose();
        _pool.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Arena<int>, peer's default allocator, blocks kept across resets")]
    public long PeerDefault() => Run(_peerDefault);

    [Benchmark(Description = "Arena<int> over SlabAllocator, blocks kept across resets")]
    public long SlabBacked() => Run(_slabBacked);

    // What a request pays: a new Pipelines arena per batch over the request's arena, which goes back to the pool.
    [Benchmark(Description = "Arena<int> over SlabAllocator, new per batch (per request)")]
    public long SlabBackedPerRequest()
    {
        long total = 0;
        foreach (int[] batch in _batches)
        {
            using (var arena = new Arena<int>(new PipelinesArenaOptions(blockSizeBytes: SlabAllocatorFactory.DefaultBlockSizeBytes), new SlabAllocator<int>(_source)))
            {
                total += Batch(arena, batch);
            }

            _source.Reset();
        }

        return total;
    }

    private long Run(Arena<int> arena)
    {
        long total = 0;
        foreach (int[] batch in _batches)
        {
            total += Batch(arena, batch);
            arena.Reset();
        }

        return total;
    }

    private static long Batch(Arena<int> arena, int[] batch)
    {
        long total = 0;
        for (int i = 0; i < batch.Length; i++)
        {
            Sequence<int> sequence = arena.Allocate(batch[i]);
            if (!sequence.IsEmpty)
            {
                sequence[0] = i;
            }

            total += sequence.Length;
        }

        return total;
    }
}
