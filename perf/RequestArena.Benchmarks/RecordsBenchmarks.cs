using BenchmarkDotNet.Attributes;
using WebDemo;

namespace RequestArena.Benchmarks;

/// <summary>
/// The work of one <c>/api/records?count=500</c> request (records-2000 in the load test: 2000 fields, each copied into
/// a buffer of its own and read back into a checksum), run by the demo's own parse and checksum code, with every
/// buffer source the load test compares, and a floor that allocates nothing: the fields are sliced out of one array
/// kept across requests, which no allocator can beat. The floor answers how far any allocator could move the load
/// test's requests/s ratio against <c>new</c>: the request's fixed cost (Kestrel, routing, the JSON answer) comes on
/// top of every row alike. Server GC, as the demo runs.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[GcServer(true)]
public class RecordsBenchmarks
{
    private const int Records = 500;
    private const int Fields = Records * RecordsEndpoint.FieldsPerRecord;

    private Memory<byte>[] _fields = null!;
    private SlabPool _pool = null!;
    private Arena _arena = null!;
    private SliceAllocator _floor = null!;

    [GlobalSetup]
    public void Setup()
    {
        _fields = new Memory<byte>[Fields];
        _pool = new SlabPool(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan });
        _arena = new Arena(_pool);
        _floor = new SliceAllocator(64 * 1024);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _arena.Dispose();
        _pool.Dispose();
    }

    [Benchmark(Baseline = true, Description = "new byte[]")]
    public ulong New() => Run(HeapAllocator.Instance);

    [Benchmark(Description = "arena (defaults: zeroed, use-after-release checked) + Reset")]
    public ulong ArenaDefaults()
    {
        ulong checksum = Run(_arena);
        _arena.Reset();
        return checksum;
    }

    [Benchmark(Description = "ArrayPool, rent all then return all")]
    public ulong Pool()
    {
        using var pool = new ArrayPoolAllocator();
        return Run(pool);
    }

    [Benchmark(Description = "floor: slices of one array kept across requests (no allocator)")]
    public ulong Floor()
    {
        ulong checksum = Run(_floor);
        _floor.Reset();
        return checksum;
    }

    private ulong Run(IModuleAllocator buffers)
    {
        Span<Memory<byte>> fields = _fields;
        RecordsEndpoint.ParseAll(buffers, fields);
        ulong checksum = RecordsEndpoint.Checksum(fields);
        fields.Clear();
        return checksum;
    }

    // A bump over one array: no quota, no zeroing, no lifetime check, nothing returned. Unsafe as a product (every
    // request would see the previous one's bytes); it is here only as the cost of the handler's work with no allocator.
    private sealed class SliceAllocator(int capacity) : IModuleAllocator
    {
        private readonly byte[] _buffer = new byte[capacity];
        private int _used;

        public Memory<byte> AllocateMemory(int cbAllocation)
        {
            Memory<byte> memory = _buffer.AsMemory(_used, cbAllocation);
            _used += cbAllocation;
            return memory;
        }

        public void Reset() => _used = 0;
    }
}
