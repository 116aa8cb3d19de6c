using System.Buffers;
using BenchmarkDotNet.Attributes;

namespace RequestArena.Benchmarks;

/// <summary>
/// 1000 allocations of 32 bytes per operation, then a reset (or the equivalent release), against the raw floor:
/// a bump over one pinned buffer plus a clear of each allocation.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class Allocate32Benchmarks
{
    private const int Count = 1000;
    private const int Size = 32;

    private readonly byte[][] _held = new byte[Count][];
    private byte[] _floorBuffer = null!;
    private SlabPool _pool = null!;
    private Arena _zeroed = null!;
    private Arena _unzeroed = null!;
    private Arena _clearOnHandOut = null!;
    private Arena _unchecked = null!;

    [GlobalSetup]
    public void Setup()
    {
        _floorBuffer = GC.AllocateArray<byte>(64 * 1024, pinned: true);
        _pool = new SlabPool(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan });
        _zeroed = new Arena(_pool);
        _unzeroed = new Arena(_pool, new ArenaOptions { ZeroMemory = false });

        // The rival zeroing strategy: never clear on return, clear every allocation as it is handed out.
        _clearOnHandOut = new Arena(_pool, new ArenaOptions { ZeroMemory = false });
        _unchecked = new Arena(_pool, new ArenaOptions { DetectUseAfterRelease = false });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _zeroed.Dispose();
        _unzeroed.Dispose();
        _clearOnHandOut.Dispose();
        _unchecked.Dispose();
        _pool.Dispose();
    }

    [Benchmark(Baseline = true, Description = "floor: bump+clear one pinned buffer")]
    public int Floor()
    {
        byte[] buffer = _floorBuffer;
        int offset = 0;
        int total = 0;
        for (int i = 0; i < Count; i++)
        {
            var memory = new Memory<byte>(buffer, offset, Size);
            buffer.AsSpan(offset, Size).Clear();
            offset += Size;
            total += memory.Length;
        }

        return total;
    }

    [Benchmark(Description = "arena, zeroed (default)")]
    public long ArenaZeroed() => Run(_zeroed);

    [Benchmark(Description = "arena cursor, zeroed (default)")]
    public long ArenaCursorZeroed()
    {
        long total = AllocationLoops.ThroughCursor(_zeroed, Count, Size);
        _zeroed.Reset();
        return total;
    }

    [Benchmark(Description = "arena, unzeroed")]
    public long ArenaUnzeroed() => Run(_unzeroed);

    [Benchmark(Description = "arena, zeroed, no use-after-release check")]
    public long ArenaUnchecked() => Run(_unchecked);

    [Benchmark(Description = "arena, zeroed at hand-out instead of at return")]
    public int ArenaClearOnHandOut()
    {
        Arena arena = _clearOnHandOut;
        int total = 0;
        for (int i = 0; i < Count; i++)
        {
            // The arena does not zero (ZeroMemory off); each allocation is cleared as it is handed out instead.
            Memory<byte> memory = arena.AllocateMemory(Size);
            memory.Span.Clear();
            total += memory.Length;
        }

        arena.Reset();
        return total;
    }

    [Benchmark(Description = "new byte[32]")]
    public long NewArray() => AllocationLoops.NewArrays(_held, Size);

    [Benchmark(Description = "ArrayPool Rent+Return each")]
    public int ArrayPoolRentReturn()
    {
        int total = 0;
        for (int i = 0; i < Count; i++)
        {
            byte[] array = ArrayPool<byte>.Shared.Rent(Size);
            total += array.Length;
            ArrayPool<byte>.Shared.Return(array, clearArray: true);
        }

        return total;
    }

    [Benchmark(Description = "ArrayPool hold 1000, then return")]
    public long ArrayPoolHoldAll() => AllocationLoops.ArrayPoolHoldAllThenReturn(_held, Size);

    private static long Run(Arena arena) => AllocationLoops.ArenaThenReset(arena, Count, Size);
}
