using System.Buffers;
using BenchmarkDotNet.Attributes;
using PeerArena = Pipelines.Sockets.Unofficial.Arenas.Arena<int>;
using PeerSequence = Pipelines.Sockets.Unofficial.Arenas.Sequence<int>;

namespace RequestArena.Benchmarks;

/// <summary>
/// The Pipelines.Sockets.Unofficial arena workload: 100 batches of 10–99 allocations of 0–1023 ints, released per
/// batch, with the sizes the peer's own benchmark draws (its seed). Every variant of this project writes one value
/// into each non-empty allocation so none of them can skip touching memory. The peer's <c>Arena&lt;int&gt;</c> runs
/// twice: in its own benchmark's loop (reset before each batch, every allocation kept in a list, nothing written),
/// which is the figure its authors publish and the one the "vs peer" column divides by, and in this class's loop,
/// so the two loops can be told apart.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[PeerRatioColumn(nameof(PeerOwnLoop))]
public class BatchBenchmarks
{
    private int[][] _batches = null!;
    private int[][] _held = null!;
    private List<PeerSequence> _peerHeld = null!;
    private SlabPool _pool = null!;
    private Arena _zeroed = null!;
    private Arena _unzeroed = null!;
    private Arena _clearOnHandOut = null!;
    private PeerArena _peer = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(43134114);
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

        // The peer's defaults, as its benchmark creates it.
        _peer = new PeerArena();
        _peerHeld = new List<PeerSequence>(_batches.Max(b => b.Length));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _zeroed.Dispose();
        _unzeroed.Dispose();
        _clearOnHandOut.Dispose();
        _peer.Dispose();
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
                // The arena does not zero (ZeroMemory off); each allocation is cleared as it is handed out instead.
                Span<int> span = arena.Allocate<int>(batch[i]);
                span.Clear();
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

    [Benchmark(Description = "peer Arena<int>, own loop")]
    public long PeerOwnLoop()
    {
        PeerArena arena = _peer;
        List<PeerSequence> held = _peerHeld;
        foreach (int[] batch in _batches)
        {
            held.Clear();
            arena.Reset();
            foreach (int size in batch)
            {
                held.Add(arena.Allocate(size));
            }
        }

        return held.Count;
    }

    [Benchmark(Description = "peer Arena<int>, this loop")]
    public long PeerThisLoop()
    {
        PeerArena arena = _peer;
        long total = 0;
        foreach (int[] batch in _batches)
        {
            for (int i = 0; i < batch.Length; i++)
            {
                PeerSequence sequence = arena.Allocate(batch[i]);
                if (batch[i] > 0)
                {
                    sequence.FirstSpan[0] = i;
                }

                total += sequence.Length;
            }

            arena.Reset();
        }

        return total;
    }
}
