using System.Buffers;
using Pipelines.Sockets.Unofficial.Arenas;
using PipelinesArenaOptions = Pipelines.Sockets.Unofficial.Arenas.ArenaOptions;

namespace RequestArena.Pipelines.Tests;

public sealed class SlabAllocatorTests
{
    [Fact]
    public void Allocate_FromZeroingArena_ReadsZerosAndIsChargedToSource()
    {
        using var pool = new SlabPool();
        using var source = new Arena(pool);
        var allocator = new SlabAllocator<long>(source);

        using IMemoryOwner<long> block = allocator.Allocate(1000);

        Assert.Equal(1000, block.Memory.Length);
        Assert.All(block.Memory.ToArray(), value => Assert.Equal(0, value));
        Assert.Equal(8000, source.AllocatedBytes);
        Assert.Same(source, allocator.Source);
    }

    [Fact]
    public void Allocate_SourceDoesNotZero_BlockIsClearedAnyway()
    {
        using var pool = new SlabPool();
        using var source = new Arena(pool, new ArenaOptions { ZeroMemory = false });
        for (int round = 0; round < 4; round++)
        {
            // Leave garbage in the slab, then hand the same bytes out again after a reset.
            source.AllocateMemory(64 * 1024 - 64).Span.Fill(0xAB);
            source.Reset();

            var allocator = new SlabAllocator<int>(source);
            using IMemoryOwner<int> block = allocator.Allocate(16 * 1024 - 16);
            Assert.All(block.Memory.ToArray(), value => Assert.Equal(0, value));
            block.Memory.Span.Fill(-1);
            source.Reset();
        }
    }

    [Fact]
    public void Allocate_AfterSourceReset_BlockThrowsObjectDisposed()
    {
        using var pool = new SlabPool();
        using var source = new Arena(pool);
        IMemoryOwner<int> block = new SlabAllocator<int>(source).Allocate(64);
        block.Memory.Span[3] = 42;

        source.Reset();

        Assert.Throws<ObjectDisposedException>(() => block.Memory.Span[3]);
        Assert.Throws<ObjectDisposedException>(() => block.Memory.Pin());
    }

    // Unchecked memory cannot fail by itself: the block is revoked with its source's cycle instead. A Pipelines arena
    // kept past the reset then refuses its own Reset (which clears its blocks) rather than clearing bytes that another
    // arena on the pool now holds.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PipelinesArenaReset_AfterTheSourceWasReset_RefusesAndLeavesAnotherArenasBytesAlone(bool detect)
    {
        using var pool = new SlabPool(new SlabPoolOptions { SlabSize = 16 * 1024, MaxRetainedBytes = 16 * 1024 });
        using var source = new Arena(pool, new ArenaOptions { DetectUseAfterRelease = detect });
        var arena = new global::Pipelines.Sockets.Unofficial.Arenas.Arena(
            new PipelinesArenaOptions(PipelinesArenaOptions.Default.Flags | ArenaFlags.ClearAtReset, retentionPolicy: RetentionPolicy.Everything),
            new SlabAllocatorFactory(source, true, 16 * 1024));
        foreach (Span<int> span in arena.Allocate<int>(100).Spans)
        {
            span.Fill(7);
        }

        source.Reset();
        using var other = new Arena(pool, new ArenaOptions { DetectUseAfterRelease = detect });
        Memory<byte> theirs = other.AllocateMemory(16 * 1024 - 64);
        theirs.Span.Fill(0xAB);

        Assert.Throws<ObjectDisposedException>(() => arena.Reset());
        Assert.Throws<ObjectDisposedException>(() => arena.Allocate<int>(50).FirstSpan.Fill(9));
        Assert.True(theirs.Span.IndexOfAnyExcept((byte)0xAB) < 0);
    }

    [Fact]
    public void Dispose_Block_LaterReadsThrowObjectDisposed()
    {
        using var source = new Arena(new SlabPool());
        IMemoryOwner<int> block = new SlabAllocator<int>(source).Allocate(64);

        block.Dispose();

        Assert.Throws<ObjectDisposedException>(() => block.Memory.Span.Length);
    }

    [Fact]
    public unsafe void Pin_ElementIndex_PointsIntoBlock()
    {
        using var source = new Arena(new SlabPool());
        using IMemoryOwner<int> block = new SlabAllocator<int>(source).Allocate(64);
        block.Memory.Span[5] = 12345;

        using MemoryHandle whole = block.Memory.Pin();
        using MemoryHandle fifth = block.Memory[5..].Pin();

        Assert.Equal((nint)whole.Pointer + 5 * sizeof(int), (nint)fifth.Pointer);
        Assert.Equal(12345, *(int*)fifth.Pointer);
        Assert.Equal(0, (nint)whole.Pointer % 8);
    }

    [Fact]
    public void Ctor_ReferenceType_Throws()
    {
        using var source = new Arena(new SlabPool());

        Assert.Throws<NotSupportedException>(() => new SlabAllocator<string>(source));
        Assert.Throws<NotSupportedException>(() => new SlabAllocator<KeyValuePair<int, object>>(source));
        Assert.Throws<ArgumentNullException>(() => new SlabAllocator<int>(null!));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue / 4 + 1)]
    [InlineData(int.MaxValue)]
    public void Allocate_BadLength_ThrowsAndTakesNothing(int length)
    {
        using var source = new Arena(new SlabPool());
        var allocator = new SlabAllocator<int>(source);

        Assert.Throws<ArgumentOutOfRangeException>(() => allocator.Allocate(length));
        Assert.Equal(0, source.AllocatedBytes);
        Assert.Equal(0, allocator.Allocate(0).Memory.Length);
    }

    [Fact]
    public void Allocate_OverSourceQuota_ThrowsLimitExceeded()
    {
        using var source = new Arena(new SlabPool(), new ArenaOptions { MaxBytes = 4096 });
        var allocator = new SlabAllocator<int>(source);
        allocator.Allocate(1000);

        Assert.Throws<ArenaLimitExceededException>(() => allocator.Allocate(100));
    }

    [Fact]
    public void TypedArena_SequencesAcrossBlocks_ReadBackWhatWasWritten()
    {
        using var source = new Arena(new SlabPool());
        using var arena = new Arena<int>(new PipelinesArenaOptions(blockSizeBytes: 4096), new SlabAllocator<int>(source));

        // 3000 ints need three 1024-int blocks: a multi-segment sequence.
        Sequence<int> numbers = arena.Allocate(3000);
        Assert.False(numbers.IsSingleSegment);
        int next = 0;
        foreach (Span<int> span in numbers.Spans)
        {
            Assert.All(span.ToArray(), value => Assert.Equal(0, value));
            foreach (ref int value in span)
            {
                value = next++;
            }
        }

        Assert.Equal(Enumerable.Range(0, 3000), numbers.ToArray());
        Assert.Equal(3 * 4096, source.AllocatedBytes);

        source.Reset();
        Assert.Throws<ObjectDisposedException>(() => numbers.ToArray());
    }
}
