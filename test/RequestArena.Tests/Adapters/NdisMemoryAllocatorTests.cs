using System.Buffers;
using System.Runtime.InteropServices;
using RequestArena;
using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class NdisMemoryAllocatorTests : IDisposable
{
    private readonly Arena _arena = new();

    public void Dispose() => _arena.Dispose();

    [Fact]
    public void AllocateMemory_None_ReturnsZeroedArenaMemory()
    {
        var ndis = new NdisMemoryAllocator(_arena);

        SlabProviderStatus status = ndis.AllocateMemory(out Memory<byte> memory, 300, NdisMemoryFlags.None);

        Assert.Equal(SlabProviderStatus.Success, status);
        Assert.Equal(300, memory.Length);
        Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(300, _arena.AllocatedBytes);
        Assert.Equal(0, ndis.NativeBytesInUse);
    }

    [Fact]
    public unsafe void AllocateMemory_NonCached_IsNativeAndCacheLineAligned()
    {
        var ndis = new NdisMemoryAllocator(_arena);

        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> memory, 1000, NdisMemoryFlags.NonCached));

        using MemoryHandle pin = memory.Pin();
        Assert.Equal(0, (nint)pin.Pointer % NdisMemoryAllocator.CacheLineSize);
        Assert.False(MemoryMarshal.TryGetArray<byte>(memory, out _));
        Assert.Equal(1000, ndis.NativeBytesInUse);
        Assert.Equal(0, _arena.AllocatedBytes);
        Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public unsafe void AllocateMemory_Contiguous_IsOnePageAlignedNativeBlock()
    {
        var ndis = new NdisMemoryAllocator(_arena);

        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> memory, 3 * 4096, NdisMemoryFlags.Contiguous | NdisMemoryFlags.NonCached));

        using MemoryHandle pin = memory.Pin();
        Assert.Equal(0, (nint)pin.Pointer % Environment.SystemPageSize);
        Assert.Equal(3 * 4096, memory.Span.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void AllocateMemory_BadLength_ReturnsFailure(int length)
    {
        var ndis = new NdisMemoryAllocator(_arena);

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out Memory<byte> memory, length, NdisMemoryFlags.None));
        Assert.True(memory.IsEmpty);
    }

    [Fact]
    public void AllocateMemory_UnknownFlags_ReturnsFailure()
    {
        var ndis = new NdisMemoryAllocator(_arena);

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out _, 64, (NdisMemoryFlags)0x8));
        Assert.Equal(0, ndis.BlocksInUse);
    }

    [Fact]
    public void AllocateMemory_ContiguousLongerThanTheMaximum_ReturnsFailureAndHoldsNothing()
    {
        var ndis = new NdisMemoryAllocator(_arena, new NdisMemoryAllocatorOptions { MaxContiguousLength = 64 * 1024 });

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out Memory<byte> memory, 64 * 1024 + 1, NdisMemoryFlags.Contiguous));

        Assert.True(memory.IsEmpty);
        Assert.Equal(0, ndis.BlocksInUse);
        Assert.Equal(0, ndis.NativeBytesInUse);
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out _, 64 * 1024, NdisMemoryFlags.Contiguous));
    }

    [Theory]
    [InlineData(NdisMemoryFlags.None)]
    [InlineData(NdisMemoryFlags.NonCached)]
    [InlineData(NdisMemoryFlags.Contiguous)]
    public void AllocateMemory_BlockAboveHighestAcceptableAddress_ReturnsFailureAndHoldsNothing(NdisMemoryFlags flags)
    {
        var ndis = new NdisMemoryAllocator(_arena);

        // Nothing a process allocates lies in its first page.
        SlabProviderStatus status = ndis.AllocateMemory(out Memory<byte> memory, 64, flags, highestAcceptableAddress: 4095);

        Assert.Equal(SlabProviderStatus.Failure, status);
        Assert.True(memory.IsEmpty);
        Assert.Equal(0, ndis.BlocksInUse);
        Assert.Equal(0, ndis.NativeBytesInUse);
        Assert.Equal(0, _arena.AllocatedBytes);
    }

    [Theory]
    [InlineData(NdisMemoryFlags.None)]
    [InlineData(NdisMemoryFlags.NonCached)]
    public unsafe void AllocateMemory_HighestAcceptableAddressHonoured_BlockEndsAtOrBelowIt(NdisMemoryFlags flags)
    {
        var ndis = new NdisMemoryAllocator(_arena);
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> probe, 64, flags));
        using MemoryHandle probePin = probe.Pin();

        // A limit well above where the allocator just placed a block: a block may land above it or below it, and
        // whichever it is, the answer must agree with the address.
        long limit = (long)probePin.Pointer + (1L << 20);
        SlabProviderStatus status = ndis.AllocateMemory(out Memory<byte> memory, 64, flags, limit);

        if (status == SlabProviderStatus.Success)
        {
            using MemoryHandle pin = memory.Pin();
            Assert.True((long)pin.Pointer + 63 <= limit);
        }
        else
        {
            Assert.True(memory.IsEmpty);
            Assert.Equal(1, ndis.BlocksInUse);
        }

        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out _, 64, flags, long.MaxValue));
    }

    [Fact]
    public void AllocateMemory_HighestAcceptableAddressBelowMinusOne_ReturnsFailure()
    {
        var ndis = new NdisMemoryAllocator(_arena);

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out _, 64, NdisMemoryFlags.None, -2));
    }

    [Fact]
    public void AllocateMemory_OverArenaQuota_ReturnsFailureAndArenaStaysUsable()
    {
        using var arena = new Arena(new ArenaOptions { MaxBytes = 1000 });
        var ndis = new NdisMemoryAllocator(arena);

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out _, 2000, NdisMemoryFlags.None));
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out _, 500, NdisMemoryFlags.None));
    }

    [Fact]
    public void AllocateMemory_NativeBlocksCountAgainstTheArenaQuota()
    {
        using var arena = new Arena(new ArenaOptions { MaxBytes = 10_000 });
        var ndis = new NdisMemoryAllocator(arena);
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out _, 6000, NdisMemoryFlags.None));

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out _, 5000, NdisMemoryFlags.NonCached));
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out _, 4000, NdisMemoryFlags.NonCached));
        Assert.Equal(4000, ndis.NativeBytesInUse);
    }

    [Fact]
    public void AllocateMemory_ArenaBlocksLeaveRoomForNativeBlocksHeld()
    {
        // The other order: native blocks first, then arena blocks; together they stay within the quota.
        using var arena = new Arena(new ArenaOptions { MaxBytes = 10_000 });
        var ndis = new NdisMemoryAllocator(arena);
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> native, 6000, NdisMemoryFlags.NonCached));

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out _, 5000, NdisMemoryFlags.None));
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out _, 4000, NdisMemoryFlags.None));

        // Freeing the native block gives its share of the quota back.
        Assert.Equal(SlabProviderStatus.Success, ndis.FreeMemory(native, NdisMemoryFlags.NonCached));
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out _, 6000, NdisMemoryFlags.None));
        Assert.Equal(10_000, arena.AllocatedBytes);
    }

    [Fact]
    public void AllocateMemory_OverMaxNativeBytes_ReturnsFailure()
    {
        var ndis = new NdisMemoryAllocator(_arena, new NdisMemoryAllocatorOptions { MaxNativeBytes = 8192 });
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> first, 8000, NdisMemoryFlags.NonCached));

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out _, 500, NdisMemoryFlags.NonCached));

        ndis.FreeMemory(first, NdisMemoryFlags.NonCached);
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out _, 500, NdisMemoryFlags.NonCached));
    }

    [Fact]
    public void AllocateMemory_None_OverOtherAllocatorThatDoesNotZero_ReturnsZeroedMemory()
    {
        using var ndis = new NdisMemoryAllocator(new HeapModuleAllocator(fill: 0xCD));

        foreach (int length in (int[])[1, 40, 300, 70_000])
        {
            Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> memory, length, NdisMemoryFlags.None));
            Assert.Equal(length, memory.Length);
            Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0);
        }

        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemoryInBlocks(1000, NdisMemoryFlags.None, 100, out Memory<byte>[] blocks));
        Assert.All(blocks, block => Assert.True(block.Span.IndexOfAnyExcept((byte)0) < 0));
    }

    [Fact]
    public void AllocateMemory_None_OverArenaThatDoesNotZero_ReturnsZeroedMemory()
    {
        using var arena = new Arena(new ArenaOptions { ZeroMemory = false });
        arena.AllocateMemory(4096).Span.Fill(0xEE);
        arena.Reset();
        var ndis = new NdisMemoryAllocator(arena);

        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> memory, 4000, NdisMemoryFlags.None));

        Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void AllocateMemory_OverOtherAllocatorsQuota_ReturnsFailure()
    {
        using var ndis = new NdisMemoryAllocator(new HeapModuleAllocator(maxBytes: 100));

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out _, 101, NdisMemoryFlags.None));
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> memory, 100, NdisMemoryFlags.None));
        Assert.Equal(SlabProviderStatus.Success, ndis.FreeMemory(memory, NdisMemoryFlags.None));
    }

    [Fact]
    public void Failures_LeaveTheAllocatorAsItWas()
    {
        var ndis = new NdisMemoryAllocator(_arena, new NdisMemoryAllocatorOptions { MaxContiguousLength = 4096 });
        ndis.AllocateMemory(out Memory<byte> kept, 128, NdisMemoryFlags.NonCached);
        kept.Span.Fill(0x5A);

        ndis.AllocateMemory(out _, 0, NdisMemoryFlags.None);
        ndis.AllocateMemory(out _, 8192, NdisMemoryFlags.Contiguous);
        ndis.AllocateMemory(out _, 64, NdisMemoryFlags.NonCached, 4095);
        ndis.FreeMemory(kept, NdisMemoryFlags.None);

        Assert.Equal(1, ndis.BlocksInUse);
        Assert.Equal(128, ndis.NativeBytesInUse);
        Assert.True(kept.Span.IndexOfAnyExcept((byte)0x5A) < 0);
        Assert.Equal(SlabProviderStatus.Success, ndis.FreeMemory(kept, NdisMemoryFlags.NonCached));
    }

    [Fact]
    public void FreeMemory_Native_ReturnsSuccessAndTheMemoryDies()
    {
        var ndis = new NdisMemoryAllocator(_arena);
        ndis.AllocateMemory(out Memory<byte> memory, 256, NdisMemoryFlags.NonCached);

        Assert.Equal(SlabProviderStatus.Success, ndis.FreeMemory(memory, NdisMemoryFlags.NonCached));

        Assert.Equal(0, ndis.NativeBytesInUse);
        Assert.Equal(0, ndis.BlocksInUse);
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
    }

    [Fact]
    public void FreeMemory_Arena_ReturnsSuccessAndTheBlockIsNoLongerTracked()
    {
        var ndis = new NdisMemoryAllocator(_arena);
        ndis.AllocateMemory(out Memory<byte> memory, 256, NdisMemoryFlags.None);

        Assert.Equal(SlabProviderStatus.Success, ndis.FreeMemory(memory, NdisMemoryFlags.None));
        Assert.Equal(0, ndis.BlocksInUse);
    }

    [Theory]
    [InlineData(NdisMemoryFlags.None)]
    [InlineData(NdisMemoryFlags.NonCached)]
    [InlineData(NdisMemoryFlags.Contiguous)]
    public void FreeMemory_Twice_ReturnsInvalidParameter(NdisMemoryFlags flags)
    {
        var ndis = new NdisMemoryAllocator(_arena);
        ndis.AllocateMemory(out Memory<byte> memory, 256, flags);
        ndis.FreeMemory(memory, flags);

        Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(memory, flags));
    }

    [Fact]
    public void FreeMemory_WithOtherFlags_ReturnsInvalidParameterAndKeepsTheBlock()
    {
        var ndis = new NdisMemoryAllocator(_arena);
        ndis.AllocateMemory(out Memory<byte> memory, 256, NdisMemoryFlags.NonCached);

        Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(memory, NdisMemoryFlags.None));
        Assert.Equal(256, memory.Span.Length);
        Assert.Equal(SlabProviderStatus.Success, ndis.FreeMemory(memory, NdisMemoryFlags.NonCached));
    }

    [Fact]
    public void FreeMemory_OfOtherLength_ReturnsInvalidParameter()
    {
        var ndis = new NdisMemoryAllocator(_arena);
        ndis.AllocateMemory(out Memory<byte> memory, 256, NdisMemoryFlags.NonCached);

        Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(memory[..100], NdisMemoryFlags.NonCached));
        Assert.Equal(1, ndis.BlocksInUse);
    }

    [Fact]
    public void FreeMemory_ForeignOrEmpty_ReturnsInvalidParameter()
    {
        var ndis = new NdisMemoryAllocator(_arena);
        using var otherArena = new Arena();
        var other = new NdisMemoryAllocator(otherArena);
        other.AllocateMemory(out Memory<byte> foreign, 64, NdisMemoryFlags.NonCached);

        Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(foreign, NdisMemoryFlags.NonCached));
        Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(new byte[64], NdisMemoryFlags.None));
        Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(Memory<byte>.Empty, NdisMemoryFlags.None));
        Assert.Equal(1, other.BlocksInUse);
    }

    [Fact]
    public void ArenaReset_FreesNativeBlocksAndReleasesTheAllocator()
    {
        var ndis = new NdisMemoryAllocator(_arena);
        ndis.AllocateMemory(out Memory<byte> native, 4096, NdisMemoryFlags.NonCached);
        ndis.AllocateMemory(out Memory<byte> pooled, 64, NdisMemoryFlags.None);

        _arena.Reset();

        Assert.True(ndis.IsDisposed);
        Assert.Equal(0, ndis.NativeBytesInUse);
        Assert.Throws<ObjectDisposedException>(() => native.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => pooled.Span.Length);
        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemory(out _, 64, NdisMemoryFlags.None));
        Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(native, NdisMemoryFlags.NonCached));
    }

    [Fact]
    public void AllocateMemoryInBlocks_WhenOneBlockCannotBeHad_UsesSmallerOnes()
    {
        var ndis = new NdisMemoryAllocator(_arena, new NdisMemoryAllocatorOptions { MaxContiguousLength = 64 * 1024 });

        SlabProviderStatus status = ndis.AllocateMemoryInBlocks(256 * 1024, NdisMemoryFlags.Contiguous, 16 * 1024, out Memory<byte>[] blocks);

        Assert.Equal(SlabProviderStatus.Success, status);
        Assert.Equal(4, blocks.Length);
        Assert.All(blocks, block => Assert.Equal(64 * 1024, block.Length));
        Assert.Equal(256 * 1024, ndis.NativeBytesInUse);
    }

    [Fact]
    public void AllocateMemoryInBlocks_UnevenLength_CoversItExactly()
    {
        var ndis = new NdisMemoryAllocator(_arena, new NdisMemoryAllocatorOptions { MaxContiguousLength = 10_000 });

        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemoryInBlocks(25_001, NdisMemoryFlags.Contiguous, 1000, out Memory<byte>[] blocks));

        Assert.Equal(25_001, blocks.Sum(block => block.Length));
        Assert.All(blocks, block => Assert.True(block.Length <= 10_000));
    }

    [Fact]
    public void AllocateMemoryInBlocks_ArenaBlocksOverTheQuota_FailsAndLeavesTheQuotaAlone()
    {
        using var arena = new Arena(new ArenaOptions { MaxBytes = 64 * 1024 });
        var ndis = new NdisMemoryAllocator(arena);

        SlabProviderStatus status = ndis.AllocateMemoryInBlocks(100 * 1024, NdisMemoryFlags.None, 16 * 1024, out Memory<byte>[] blocks);

        Assert.Equal(SlabProviderStatus.Failure, status);
        Assert.Empty(blocks);
        Assert.Equal(0, ndis.BlocksInUse);
        Assert.Equal(0, arena.AllocatedBytes);
        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> rest, 32 * 1024, NdisMemoryFlags.None));
        Assert.Equal(32 * 1024, rest.Length);
        Assert.True(arena.TryAllocateMemory(32 * 1024, out _));
    }

    [Fact]
    public void AllocateMemoryInBlocks_WhenSmallestBlockFails_ReturnsFailureAndFreesWhatItTook()
    {
        using var arena = new Arena(new ArenaOptions { MaxBytes = 50_000 });
        var ndis = new NdisMemoryAllocator(arena);

        SlabProviderStatus status = ndis.AllocateMemoryInBlocks(100_000, NdisMemoryFlags.NonCached, 10_000, out Memory<byte>[] blocks);

        Assert.Equal(SlabProviderStatus.Failure, status);
        Assert.Empty(blocks);
        Assert.Equal(0, ndis.BlocksInUse);
        Assert.Equal(0, ndis.NativeBytesInUse);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(100, 0)]
    [InlineData(100, 101)]
    public void AllocateMemoryInBlocks_BadArguments_ReturnsFailure(int length, int minimum)
    {
        var ndis = new NdisMemoryAllocator(_arena);

        Assert.Equal(SlabProviderStatus.Failure, ndis.AllocateMemoryInBlocks(length, NdisMemoryFlags.None, minimum, out Memory<byte>[] blocks));
        Assert.Empty(blocks);
    }

    [Fact]
    public void ConcurrentAllocateAndFree_KeepsCountsExact()
    {
        var ndis = new NdisMemoryAllocator(_arena);

        Parallel.For(0, 8, i =>
        {
            NdisMemoryFlags flags = i % 2 == 0 ? NdisMemoryFlags.NonCached : NdisMemoryFlags.None;
            for (int n = 0; n < 200; n++)
            {
                Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out Memory<byte> memory, 100, flags));
                Assert.Equal(SlabProviderStatus.Success, ndis.FreeMemory(memory, flags));
            }
        });

        Assert.Equal(0, ndis.BlocksInUse);
        Assert.Equal(0, ndis.NativeBytesInUse);
    }

    [Fact]
    public void Constructor_BadOptions_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NdisMemoryAllocator(_arena, new NdisMemoryAllocatorOptions { MaxContiguousLength = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NdisMemoryAllocator(_arena, new NdisMemoryAllocatorOptions { MaxNativeBytes = -1 }));
    }

    [Fact]
    public void NdisMemoryFlags_ValuesAreTheWindowsFlags()
    {
        Assert.Equal(1, (int)NdisMemoryFlags.Contiguous);
        Assert.Equal(2, (int)NdisMemoryFlags.NonCached);
    }
}
