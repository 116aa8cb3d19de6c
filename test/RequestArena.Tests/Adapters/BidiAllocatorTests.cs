using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RequestArena;
using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class BidiAllocatorTests : IDisposable
{
    private readonly Arena _arena = new();

    public BidiAllocatorTests() => BidiAllocator.SetLastError(Win32Error.Success);

    public void Dispose() => _arena.Dispose();

    [Fact]
    public void Allocate_ReturnsZeroedBlockOfExactSize()
    {
        var bidi = new BidiAllocator(_arena);

        BidiBlock block = bidi.Allocate(100);

        Assert.False(block.IsEmpty);
        Assert.Equal(100, block.Length);
        Assert.True(block.Span.IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(1, bidi.LiveBlocks);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(BidiAllocator.MaxBlockSize + 1)]
    public void Allocate_BadSize_ReturnsEmptyAndSetsInvalidParameter(int size)
    {
        var bidi = new BidiAllocator(_arena);

        BidiBlock block = bidi.Allocate(size);

        Assert.True(block.IsEmpty);
        Assert.Equal(0, block.Length);
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
        Assert.Equal(0, bidi.TotalBlocks);
    }

    [Fact]
    public void Allocate_OverQuota_ReturnsEmptyAndSetsNotEnoughMemory()
    {
        using var arena = new Arena(new ArenaOptions { MaxBytes = 1024 });
        var bidi = new BidiAllocator(arena);

        BidiBlock block = bidi.Allocate(2048);

        Assert.True(block.IsEmpty);
        Assert.Equal(Win32Error.NotEnoughMemory, BidiAllocator.GetLastError());
    }

    [Fact]
    public void Allocate_OverQuota_LeavesAllocatorAndArenaUsable()
    {
        using var arena = new Arena(new ArenaOptions { MaxBytes = 1024 });
        var bidi = new BidiAllocator(arena);

        Assert.True(bidi.Allocate(4096).IsEmpty);
        BidiBlock block = bidi.Allocate(64);

        Assert.False(block.IsEmpty);
        Assert.Equal(1, bidi.LiveBlocks);
        Assert.Equal(64, arena.AllocatedBytes);
    }

    [Fact]
    public void Allocate_OverOtherAllocatorThatDoesNotZero_HandsOutOnlyZeroedBytes()
    {
        using var bidi = new BidiAllocator(new HeapModuleAllocator(fill: 0xCD));
        var blocks = new List<BidiBlock>();

        // Sizes across the small classes (cleared whole on reuse) and the larger ones, each fresh and then reused
        // after being dirtied.
        foreach (int size in (int[])[1, 16, 40, 64, 65, 300, 5000])
        {
            BidiBlock fresh = bidi.Allocate(size);
            Assert.True(fresh.Span.IndexOfAnyExcept((byte)0) < 0);
            fresh.Span.Fill(0xEE);
            Assert.True(bidi.Free(fresh));

            BidiBlock reused = bidi.Allocate(size);
            Assert.True(reused.Span.IndexOfAnyExcept((byte)0) < 0);
            blocks.Add(reused);
        }

        foreach (BidiBlock block in blocks)
        {
            Assert.True(bidi.Free(block));
        }
    }

    [Fact]
    public void Allocate_OverQuotaOfOtherAllocator_SetsNotEnoughMemory()
    {
        var heap = new HeapModuleAllocator(maxBytes: 100);
        using var bidi = new BidiAllocator(heap);

        Assert.True(bidi.Allocate(200).IsEmpty);
        Assert.Equal(Win32Error.NotEnoughMemory, BidiAllocator.GetLastError());
    }

    [Fact]
    public void Allocate_AfterArenaDisposed_SetsInvalidHandle()
    {
        var arena = new Arena();
        var bidi = new BidiAllocator(arena);
        arena.Dispose();

        BidiBlock block = bidi.Allocate(16);

        Assert.True(block.IsEmpty);
        Assert.True(bidi.IsDisposed);
        Assert.Equal(Win32Error.InvalidHandle, BidiAllocator.GetLastError());
    }

    [Fact]
    public void Allocate_AfterOtherAllocatorEnded_SetsInvalidHandle()
    {
        var heap = new HeapModuleAllocator();
        using var bidi = new BidiAllocator(heap);
        heap.Ended = true;

        Assert.True(bidi.Allocate(16).IsEmpty);
        Assert.Equal(Win32Error.InvalidHandle, BidiAllocator.GetLastError());
    }

    [Fact]
    public void Free_HandleKeptWhileStampsPassTheThirtyTwoBitRange_RefusedAndTheLiveBlockStays()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock stale = bidi.Allocate(16);
        Assert.True(bidi.Free(stale));

        // As if 2^32 allocations had passed: a 32-bit stamp would come round to the stale handle's again.
        bidi.SkipStampsTo(uint.MaxValue);
        BidiBlock live = bidi.Allocate(16);

        Assert.NotEqual(stale, live);
        Assert.False(bidi.Free(stale));
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
        Assert.Equal(1, bidi.LiveBlocks);
        Assert.True(bidi.Free(live));
    }

    [Fact]
    public void Free_ThenAllocateSameSizeClass_ReusesTheBlock()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock first = bidi.Allocate(70);
        ref byte firstByte = ref MemoryMarshal.GetReference(first.Span);
        Assert.True(bidi.Free(first));

        // 70 and 80 share the (64, 80] class.
        BidiBlock second = bidi.Allocate(80);

        Assert.True(Unsafe.AreSame(ref firstByte, ref MemoryMarshal.GetReference(second.Span)));
        Assert.Equal(1, bidi.TotalBlocks);
        Assert.Equal(80, second.Length);
    }

    [Fact]
    public void Free_TwoClassesInTurn_EachAllocationReusesItsOwnClass()
    {
        // The last freed block waits outside its list; a second free must push it onto its list, not lose it.
        var bidi = new BidiAllocator(_arena);
        BidiBlock small = bidi.Allocate(16);
        BidiBlock large = bidi.Allocate(200);
        nint smallAddress = TestPools.AddressOf(small.Memory);
        nint largeAddress = TestPools.AddressOf(large.Memory);
        Assert.True(bidi.Free(small));
        Assert.True(bidi.Free(large));

        BidiBlock small2 = bidi.Allocate(10);
        BidiBlock large2 = bidi.Allocate(210);   // 200 and 210 share the (192, 224] class

        Assert.Equal(smallAddress, TestPools.AddressOf(small2.Memory));
        Assert.Equal(largeAddress, TestPools.AddressOf(large2.Memory));
        Assert.Equal(2, bidi.TotalBlocks);
        Assert.Equal(2, bidi.LiveBlocks);
    }

    [Fact]
    public void Free_ManyOfOneClassThenReallocate_ReusesEveryBlockOnce()
    {
        var bidi = new BidiAllocator(_arena);
        var blocks = Enumerable.Range(0, 5).Select(_ => bidi.Allocate(48)).ToArray();
        var addresses = blocks.Select(b => TestPools.AddressOf(b.Memory)).ToHashSet();
        foreach (BidiBlock block in blocks)
        {
            Assert.True(bidi.Free(block));
        }

        var again = Enumerable.Range(0, 5).Select(_ => bidi.Allocate(48)).ToArray();

        Assert.Equal(addresses, again.Select(b => TestPools.AddressOf(b.Memory)).ToHashSet());
        Assert.Equal(5, bidi.TotalBlocks);
        Assert.Equal(5, bidi.LiveBlocks);
    }

    [Fact]
    public void Free_LastFreedBlockTwice_SetsInvalidParameterAndReuseStaysSingle()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock block = bidi.Allocate(64);
        Assert.True(bidi.Free(block));

        Assert.False(bidi.Free(block));
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());

        // Handed out once, not twice: the second allocation of the class takes new memory.
        BidiBlock first = bidi.Allocate(64);
        BidiBlock second = bidi.Allocate(64);
        Assert.NotEqual(TestPools.AddressOf(first.Memory), TestPools.AddressOf(second.Memory));
        Assert.Equal(2, bidi.TotalBlocks);
    }

    [Fact]
    public void Free_ThenAllocateOtherSizeClass_TakesNewMemory()
    {
        var bidi = new BidiAllocator(_arena);
        Assert.True(bidi.Free(bidi.Allocate(70)));

        BidiBlock other = bidi.Allocate(81);

        Assert.False(other.IsEmpty);
        Assert.Equal(2, bidi.TotalBlocks);
        Assert.Equal(1, bidi.LiveBlocks);
    }

    [Fact]
    public void Allocate_ReusedBlock_IsZeroed()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock first = bidi.Allocate(64);
        first.Span.Fill(0xAB);
        bidi.Free(first);

        BidiBlock second = bidi.Allocate(64);

        Assert.True(second.Span.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Allocate_ReusedBlockOfOtherAllocator_IsZeroed()
    {
        using var bidi = new BidiAllocator(new HeapModuleAllocator());
        BidiBlock first = bidi.Allocate(48);
        first.Span.Fill(0xCD);
        bidi.Free(first);

        BidiBlock second = bidi.Allocate(48);

        Assert.True(second.Span.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Free_Twice_SetsInvalidParameter()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock block = bidi.Allocate(32);
        Assert.True(bidi.Free(block));

        bool second = bidi.Free(block);

        Assert.False(second);
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
        Assert.Equal(0, bidi.LiveBlocks);
    }

    [Fact]
    public void Free_Twice_DoesNotCorruptFreeList()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock block = bidi.Allocate(32);
        bidi.Free(block);
        bidi.Free(block);

        // Had the second free pushed the slot again, these two would be the same memory.
        BidiBlock a = bidi.Allocate(32);
        BidiBlock b = bidi.Allocate(32);

        Assert.False(Unsafe.AreSame(ref MemoryMarshal.GetReference(a.Span), ref MemoryMarshal.GetReference(b.Span)));
        Assert.Equal(2, bidi.LiveBlocks);
    }

    [Fact]
    public void Free_StaleHandleAfterReuse_SetsInvalidParameterAndKeepsNewOwnerLive()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock stale = bidi.Allocate(32);
        bidi.Free(stale);
        BidiBlock current = bidi.Allocate(32);

        Assert.False(bidi.Free(stale));
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
        Assert.Equal(1, bidi.LiveBlocks);
        Assert.True(bidi.Free(current));
    }

    [Fact]
    public void Free_BlockOfAnotherAllocator_SetsInvalidParameter()
    {
        var mine = new BidiAllocator(_arena);
        using var otherArena = new Arena();
        var other = new BidiAllocator(otherArena);
        mine.Allocate(32);
        BidiBlock foreign = other.Allocate(32);

        Assert.False(mine.Free(foreign));
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
        Assert.Equal(1, other.LiveBlocks);
        Assert.Equal(1, mine.LiveBlocks);
    }

    [Fact]
    public void Free_AfterArenaReset_SetsInvalidParameter()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock block = bidi.Allocate(32);
        _arena.Reset();

        Assert.False(bidi.Free(block));
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
    }

    [Fact]
    public void Free_EmptyBlock_SetsInvalidParameter()
    {
        var bidi = new BidiAllocator(_arena);

        Assert.False(bidi.Free(default));
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
    }

    [Fact]
    public void Memory_AfterArenaReset_ThrowsObjectDisposed()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock block = bidi.Allocate(32);
        _arena.Reset();

        Assert.Throws<ObjectDisposedException>(() => block.Span.Length);
    }

    [Fact]
    public void Dispose_FreesNothingTwiceAndRefusesWork()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock block = bidi.Allocate(32);
        bidi.Dispose();
        bidi.Dispose();

        Assert.True(bidi.IsDisposed);
        Assert.Equal(0, bidi.LiveBlocks);
        Assert.False(bidi.Free(block));
        Assert.True(bidi.Allocate(32).IsEmpty);
        Assert.Equal(Win32Error.InvalidHandle, BidiAllocator.GetLastError());
    }

    // Over an allocator that is not an arena, every new block is pinned for its address; a release on another thread
    // racing an allocation that takes new memory must still unpin every block, the one being added included.
    [Fact]
    public void Dispose_RacingAllocationsOfNewMemory_UnpinsEveryBlock()
    {
        const int Trials = 300;
        var allocator = new PinCountingAllocator();
        int refusedOtherwise = 0;
        for (int trial = 0; trial < Trials; trial++)
        {
            var bidi = new BidiAllocator(allocator);
            bool calling = false;
            Win32Error ending = Win32Error.Success;
            var caller = new Thread(() =>
            {
                // Nothing is freed, so every allocation takes new memory through the slow path.
                while (!bidi.Allocate(48).IsEmpty)
                {
                    Volatile.Write(ref calling, true);
                }

                ending = BidiAllocator.GetLastError();
            });

            caller.Start();
            SpinWait.SpinUntil(() => Volatile.Read(ref calling), TimeSpan.FromSeconds(10));
            Thread.SpinWait(trial % 200);
            bidi.Dispose();
            Assert.True(caller.Join(TimeSpan.FromSeconds(10)), $"trial {trial}: the allocator went on serving after Dispose");
            if (ending != Win32Error.InvalidHandle)
            {
                refusedOtherwise++;
            }

            Assert.True(allocator.Pinned == 0, $"trial {trial}: {allocator.Pinned} blocks left pinned after Dispose");
        }

        Assert.Equal(0, refusedOtherwise);
    }

    [Fact]
    public void GetLastError_IsUnchangedBySuccess()
    {
        var bidi = new BidiAllocator(_arena);
        bidi.Allocate(0);

        bidi.Allocate(16);

        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
    }

    [Fact]
    public void SetLastError_Success_ClearsTheCode()
    {
        var bidi = new BidiAllocator(_arena);
        bidi.Allocate(0);

        BidiAllocator.SetLastError(Win32Error.Success);

        Assert.Equal(Win32Error.Success, BidiAllocator.GetLastError());
    }

    [Fact]
    public async Task GetLastError_IsPerFlow()
    {
        using var failed = new ManualResetEventSlim();
        using var checkedOther = new ManualResetEventSlim();

        Task failing = Task.Run(() =>
        {
            using var arena = new Arena();
            new BidiAllocator(arena).Allocate(-5);
            failed.Set();
            checkedOther.Wait(TimeSpan.FromSeconds(10));
            return BidiAllocator.GetLastError();
        });
        Task<Win32Error> other = Task.Run(() =>
        {
            failed.Wait(TimeSpan.FromSeconds(10));
            Win32Error seen = BidiAllocator.GetLastError();
            checkedOther.Set();
            return seen;
        });

        await Task.WhenAll(failing, other);
        Assert.Equal(Win32Error.InvalidParameter, await (Task<Win32Error>)failing);
        Assert.Equal(Win32Error.Success, await other);
        Assert.Equal(Win32Error.Success, BidiAllocator.GetLastError());
    }

    [Fact]
    public void AllocateUtf16String_WritesCharactersAndTerminator()
    {
        var bidi = new BidiAllocator(_arena);

        BidiBlock block = bidi.AllocateUtf16String("Grüße, 世界");

        Assert.Equal(("Grüße, 世界".Length + 1) * 2, block.Length);
        Assert.Equal("Grüße, 世界", block.ReadUtf16String());
        Assert.Equal('\0', MemoryMarshal.Cast<byte, char>(block.Span)[^1]);
    }

    [Fact]
    public void AllocateUtf16String_OnArenaThatDoesNotZero_StillTerminates()
    {
        using var arena = new Arena(new ArenaOptions { ZeroMemory = false });
        var bidi = new BidiAllocator(arena);
        BidiBlock dirty = bidi.Allocate(12);
        dirty.Span.Fill(0xFF);
        bidi.Free(dirty);

        BidiBlock block = bidi.AllocateUtf16String("abcde");

        Assert.Equal("abcde", block.ReadUtf16String());
    }

    [Fact]
    public void AllocateUtf8String_EncodesAndTerminates()
    {
        var bidi = new BidiAllocator(_arena);

        BidiBlock block = bidi.AllocateUtf8String("Grüße");

        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount("Grüße") + 1, block.Length);
        Assert.Equal(0, block.Span[^1]);
        Assert.Equal("Grüße", block.ReadUtf8String());
    }

    [Theory]
    [InlineData("a\U0001F600b", 2)]            // the pair split by the first chunk's end
    [InlineData("\U0001F600\U0001F600", 3)]    // the second pair split
    [InlineData("ab\U0001F600", 3)]            // the pair split by the last chunk's start
    public void GetUtf8ByteCount_SurrogatePairAcrossChunks_CountsTheCharacterOnce(string value, int chunkLength)
    {
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(value), BidiAllocator.GetUtf8ByteCount(value, chunkLength));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain ascii")]
    [InlineData("Grüße, 世界 \U0001F600\U0001F601 \u0800")]
    [InlineData("lone \uD83D high, lone \uDE00 low, high at the end \uD83D")]
    [InlineData("\uD83D\uD83D\uDE00\uDE00")]
    public void GetUtf8ByteCount_AnyChunkLength_MatchesTheEncoder(string value)
    {
        long expected = System.Text.Encoding.UTF8.GetByteCount(value);
        for (int chunkLength = 2; chunkLength <= value.Length + 1; chunkLength++)
        {
            Assert.Equal(expected, BidiAllocator.GetUtf8ByteCount(value, chunkLength));
        }

        Assert.Equal(expected, BidiAllocator.GetUtf8ByteCount(value));
    }

    [Fact]
    public void AllocateUtf8String_Empty_IsJustTheTerminator()
    {
        var bidi = new BidiAllocator(_arena);

        BidiBlock block = bidi.AllocateUtf8String(string.Empty);

        Assert.Equal(1, block.Length);
        Assert.Equal(string.Empty, block.ReadUtf8String());
    }

    [Fact]
    public void AllocateBlob_CopiesTheBytes()
    {
        var bidi = new BidiAllocator(_arena);
        byte[] data = [1, 2, 3, 250, 0, 7];

        BidiBlock block = bidi.AllocateBlob(data);

        Assert.Equal(data, block.Span.ToArray());
    }

    [Fact]
    public void AllocateBlob_Empty_SetsInvalidParameter()
    {
        var bidi = new BidiAllocator(_arena);

        Assert.True(bidi.AllocateBlob([]).IsEmpty);
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
    }

    [Fact]
    public void AllocateBlob_OverQuota_SetsNotEnoughMemory()
    {
        using var arena = new Arena(new ArenaOptions { MaxBytes = 64 });
        var bidi = new BidiAllocator(arena);

        Assert.True(bidi.AllocateBlob(new byte[100]).IsEmpty);
        Assert.Equal(Win32Error.NotEnoughMemory, BidiAllocator.GetLastError());
    }

    [Fact]
    public void ManyBlocks_FreedAndReallocated_NeverOverlap()
    {
        var bidi = new BidiAllocator(_arena);
        var random = new Random(42);
        var live = new List<(BidiBlock Block, byte Fill)>();
        for (int round = 0; round < 2000; round++)
        {
            if (live.Count > 0 && random.Next(3) == 0)
            {
                int victim = random.Next(live.Count);
                Assert.True(live[victim].Block.Span.IndexOfAnyExcept(live[victim].Fill) < 0);
                Assert.True(bidi.Free(live[victim].Block));
                live.RemoveAt(victim);
            }
            else
            {
                BidiBlock block = bidi.Allocate(random.Next(1, 600));
                byte fill = (byte)random.Next(1, 256);
                block.Span.Fill(fill);
                live.Add((block, fill));
            }
        }

        foreach ((BidiBlock block, byte fill) in live)
        {
            Assert.True(block.Span.IndexOfAnyExcept(fill) < 0);
        }

        Assert.Equal(live.Count, bidi.LiveBlocks);
    }
}
