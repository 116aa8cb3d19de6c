using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RequestArena.Tests;

public class ArenaTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(32)]
    [InlineData(4095)]
    [InlineData(65536)]
    [InlineData(200_000)]
    public void AllocateMemory_ReturnsExactLength(int size)
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);

        Memory<byte> memory = arena.AllocateMemory(size);

        Assert.Equal(size, memory.Length);
        Assert.Equal(size, memory.Span.Length);
        Assert.Equal(size, arena.AllocatedBytes);
    }

    [Fact]
    public void AllocateMemory_Zero_ReturnsEmpty()
    {
        using var arena = new Arena(TestPools.Create());

        Memory<byte> memory = arena.AllocateMemory(0);

        Assert.True(memory.IsEmpty);
        Assert.Equal(0, arena.AllocatedBytes);
        Assert.Equal(0, arena.SlabsInUse);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void AllocateMemory_Negative_ThrowsArgumentOutOfRange(int size)
    {
        using var arena = new Arena(TestPools.Create());
        arena.AllocateMemory(16);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => arena.AllocateMemory(size));

        Assert.Equal("cbAllocation", ex.ParamName);
        Assert.Equal(16, arena.AllocatedBytes);
    }

    [Fact]
    public void AllocateMemory_IntMaxValueWithoutQuota_ThrowsArgumentOutOfRange()
    {
        using var arena = new Arena(TestPools.Create());

        Assert.Throws<ArgumentOutOfRangeException>(() => arena.AllocateMemory(int.MaxValue));
        Assert.Equal(0, arena.SlabsInUse);
        Assert.Equal(8, arena.AllocateMemory(8).Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-1)]
    public void AllocateMemory_AfterDispose_ThrowsObjectDisposed(int size)
    {
        var arena = new Arena(TestPools.Create());
        arena.AllocateMemory(8);
        arena.Dispose();

        Assert.Throws<ObjectDisposedException>(() => arena.AllocateMemory(Math.Max(size, 0)));
        Assert.Throws<ObjectDisposedException>(() => arena.TryAllocateMemory(1, out _));
        Assert.Throws<ObjectDisposedException>(() => arena.Allocate<int>(1));
        Assert.Throws<ObjectDisposedException>(() => arena.Reset());
        Assert.Throws<ObjectDisposedException>(() => arena.RegisterForCleanup(new Cleanup(new List<int>(), 0)));
    }

    [Fact]
    public void Dispose_Twice_DoesNothing()
    {
        using var pool = TestPools.Create();
        var arena = new Arena(pool);
        arena.AllocateMemory(8);

        arena.Dispose();
        arena.Dispose();

        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(4096)]
    public void AllocateMemory_EveryAllocation_IsAligned(int alignment)
    {
        using var pool = TestPools.Create(slabSize: 16 * 1024);
        using var arena = new Arena(pool, new ArenaOptions { Alignment = alignment });
        var random = new Random(alignment);

        for (int i = 0; i < 300; i++)
        {
            int size = random.Next(1, i % 50 == 0 ? 40_000 : 300);
            nint address = TestPools.AddressOf(arena.AllocateMemory(size));
            Assert.Equal(0, address % alignment);
        }
    }

    // Slabs start aligned to the largest alignment an arena can ask for, so an allocation whose aligned size is the
    // slab size fits a fresh slab exactly; it must not be sent to a block of two slabs for padding it never needs.
    [Theory]
    [InlineData(4096, 4096, 1)]
    [InlineData(4096, 4096, 4096)]
    [InlineData(8192, 4096, 8192)]
    [InlineData(8192, 2048, 8000)]
    public void AllocateMemory_AlignedSizeEqualsTheSlab_TakesOneSlabEach(int slabSize, int alignment, int size)
    {
        using var pool = TestPools.Create(slabSize: slabSize);
        using var arena = new Arena(pool, new ArenaOptions { Alignment = alignment });

        for (int i = 0; i < 10; i++)
        {
            Memory<byte> memory = arena.AllocateMemory(size);
            Assert.Equal(0, TestPools.AddressOf(memory) % alignment);
            memory.Span.Fill(1);
        }

        Assert.Equal(10L * slabSize, arena.HeldBytes);
    }

    // A pooled arena lives for the whole process; the threads that used it come and go. Those that exited must not
    // stay reachable through it, whichever of its first chunks they took.
    [Fact]
    public void Reset_ThreadsThatUsedTheArenaExited_NotKeptAliveByIt()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        WeakReference<Thread>[] exited = RunThreadsThatAllocateAndExit(arena, count: 8);

        for (int i = 0; i < 40; i++)
        {
            arena.AllocateMemory(16);
            arena.Reset();
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.All(exited, reference => Assert.False(reference.TryGetTarget(out _), "an exited thread is still reachable through the arena"));
    }

    // Filling every kept place with threads that exited must not leave the threads that use the arena now without
    // theirs: each would otherwise be given a new chunk every cycle.
    [Fact]
    public void Reset_KeptPlacesTakenByExitedThreads_LiveThreadKeepsItsChunk()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        RunThreadsThatAllocateAndExit(arena, count: 8);

        arena.AllocateMemory(16);
        arena.Reset();
        var chunks = new HashSet<object>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < 5; i++)
        {
            arena.AllocateMemory(16);
            chunks.Add(arena.ChunkOfCurrentThread()!);
            arena.Reset();
        }

        Assert.Single(chunks);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<Thread>[] RunThreadsThatAllocateAndExit(Arena arena, int count)
    {
        var references = new WeakReference<Thread>[count];
        for (int i = 0; i < count; i++)
        {
            var thread = new Thread(() => arena.AllocateMemory(16).Span.Fill(7));
            thread.Start();
            thread.Join();
            references[i] = new WeakReference<Thread>(thread);
        }

        return references;
    }

    [Fact]
    public void AllocateMemory_ManyAllocations_NeverOverlap()
    {
        using var pool = TestPools.Create(slabSize: 8 * 1024);
        using var arena = new Arena(pool);
        var random = new Random(7);
        var blocks = new List<Memory<byte>>();

        for (int i = 0; i < 2000; i++)
        {
            Memory<byte> block = arena.AllocateMemory(random.Next(1, i % 100 == 0 ? 20_000 : 200));
            block.Span.Fill((byte)(i % 251 + 1));
            blocks.Add(block);
        }

        for (int i = 0; i < blocks.Count; i++)
        {
            Assert.True(blocks[i].Span.IndexOfAnyExcept((byte)(i % 251 + 1)) < 0, $"block {i} was overwritten");
        }
    }

    [Fact]
    public void AllocateMemory_SlabLastServedAnotherArena_ReadsZero()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using (var first = new Arena(pool))
        {
            for (int i = 0; i < 20; i++)
            {
                first.AllocateMemory(1000).Span.Fill(0xAB);
            }

            first.AllocateMemory(10_000).Span.Fill(0xCD);
        }

        using var second = new Arena(pool);
        for (int i = 0; i < 20; i++)
        {
            Assert.True(second.AllocateMemory(1000).Span.IndexOfAnyExcept((byte)0) < 0);
        }

        Assert.True(second.Allocate<long>(100).IndexOfAnyExcept(0L) < 0);
    }

    [Fact]
    public void AllocateMemory_AfterUnzeroedArenaDirtiedSlab_ZeroingArenaReadsZero()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using (var dirty = new Arena(pool, new ArenaOptions { ZeroMemory = false }))
        {
            for (int i = 0; i < 12; i++)
            {
                dirty.AllocateMemory(1000).Span.Fill(0xEE);
            }
        }

        using var clean = new Arena(pool);
        for (int i = 0; i < 12; i++)
        {
            Assert.True(clean.AllocateMemory(1000).Span.IndexOfAnyExcept((byte)0) < 0);
        }
    }

    [Fact]
    public void AllocateMemory_ZeroMemoryOff_StillNeverOverlapsAndStaysAligned()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { ZeroMemory = false, Alignment = 16 });

        Memory<byte> a = arena.AllocateMemory(24);
        Memory<byte> b = arena.AllocateMemory(24);
        a.Span.Fill(1);
        b.Span.Fill(2);

        Assert.True(a.Span.IndexOfAnyExcept((byte)1) < 0);
        Assert.Equal(0, TestPools.AddressOf(b) % 16);
    }

    [Fact]
    public void Memory_AfterReset_SpanAndPinThrowObjectDisposed()
    {
        using var arena = new Arena(TestPools.Create());
        Memory<byte> small = arena.AllocateMemory(32);
        Memory<byte> oversize = arena.AllocateMemory(100_000);

        arena.Reset();

        Assert.Throws<ObjectDisposedException>(() => small.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => small.Pin());
        Assert.Throws<ObjectDisposedException>(() => oversize.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => small.ToArray());
    }

    [Fact]
    public void Memory_AfterSlabServesAnotherArena_ThrowsInsteadOfShowingItsBytes()
    {
        using var pool = TestPools.Create();
        var first = new Arena(pool);
        Memory<byte> stale = first.AllocateMemory(64);
        nint staleAddress = TestPools.AddressOf(stale);
        first.Dispose();

        using var second = new Arena(pool);
        Memory<byte> fresh = second.AllocateMemory(64);
        fresh.Span.Fill(0x5A);

        Assert.Equal(staleAddress, TestPools.AddressOf(fresh));
        Assert.Throws<ObjectDisposedException>(() => stale.Span[0]);
    }

    [Fact]
    public void DetectUseAfterReleaseOff_HandsOutArrayBackedMemory()
    {
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { DetectUseAfterRelease = false });

        Memory<byte> memory = arena.AllocateMemory(100);

        Assert.True(MemoryMarshal.TryGetArray<byte>(memory, out var segment));
        Assert.Equal(100, segment.Count);
    }

    [Fact]
    public void NativeProvider_AllocationsAreZeroedAlignedAndChecked()
    {
        var provider = new NativeMemorySlabProvider();
        using (var pool = TestPools.Create(provider: provider))
        {
            var arena = new Arena(pool, new ArenaOptions { Alignment = 64 });
            Memory<byte> memory = arena.AllocateMemory(1000);
            Memory<byte> big = arena.AllocateMemory(100_000);

            Assert.False(MemoryMarshal.TryGetArray<byte>(memory, out _));
            Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0);
            Assert.True(big.Span.IndexOfAnyExcept((byte)0) < 0);
            Assert.Equal(0, TestPools.AddressOf(memory) % 64);

            arena.Dispose();
            Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);

            // The slab and the oversize block are both pooled for reuse until the pool goes.
            Assert.Equal(pool.GetStatistics().PooledBytes, provider.OutstandingBytes);
            Assert.Equal(1, pool.GetStatistics().PooledOversizeBlocks);
        }

        Assert.Equal(0, provider.OutstandingBytes);
    }

    [Fact]
    public void Allocate_OverQuota_Throws()
    {
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { MaxBytes = 100 });
        arena.AllocateMemory(60);

        var ex = Assert.Throws<ArenaLimitExceededException>(() => arena.AllocateMemory(41));

        Assert.Equal(100, ex.Limit);
        Assert.Equal(41, ex.Requested);
        Assert.Contains("100", ex.Message);
        Assert.Contains("41", ex.Message);
        Assert.Equal(60, arena.AllocatedBytes);
        Assert.Equal(40, arena.AllocateMemory(40).Length);
        Assert.Equal(100, arena.AllocatedBytes);
    }

    [Fact]
    public void Allocate_UpToQuotaExactly_Succeeds()
    {
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { MaxBytes = 100, Alignment = 1 });

        for (int i = 0; i < 100; i++)
        {
            arena.AllocateMemory(1);
        }

        Assert.Equal(100, arena.AllocatedBytes);
        Assert.Throws<ArenaLimitExceededException>(() => arena.AllocateMemory(1));
    }

    [Fact]
    public void Allocate_PaddingWouldHoldMoreThanTwiceTheQuota_IsRefusedBeforeTheMemoryIsTaken()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = 100, Alignment = 64 });

        // Each 1-byte allocation holds 64 bytes: three fit in 200 bytes held, the fourth would pass that.
        for (int i = 0; i < 3; i++)
        {
            arena.AllocateMemory(1);
        }

        var refused = Assert.Throws<ArenaLimitExceededException>(() => arena.AllocateMemory(1));

        Assert.Equal(100, refused.Limit);
        Assert.Equal(3, refused.Allocated);
        Assert.InRange(refused.Held, 192, 200);
        Assert.InRange(arena.HeldBytes, 192, 200);
        Assert.Equal(3, arena.AllocatedBytes);
        Assert.False(arena.TryAllocateMemory(1, out _));
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }

    [Fact]
    public void TryAllocateMemory_OverQuota_ReturnsFalseAndArenaStaysUsable()
    {
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { MaxBytes = 1000 });
        Assert.True(arena.TryAllocateMemory(900, out Memory<byte> first));

        Assert.False(arena.TryAllocateMemory(101, out Memory<byte> refused));

        Assert.True(refused.IsEmpty);
        Assert.Equal(900, first.Length);
        Assert.True(arena.TryAllocateMemory(100, out Memory<byte> last));
        Assert.Equal(100, last.Length);
    }

    [Fact]
    public void Allocate_IntMaxValueUnderQuota_RefusedBeforeAnythingIsAllocated()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = 1 << 20 });

        Assert.Throws<ArenaLimitExceededException>(() => arena.AllocateMemory(int.MaxValue));

        Assert.Equal(0, arena.SlabsInUse);
        Assert.Equal(0, pool.GetStatistics().ProviderAllocatedBytes);
    }

    [Fact]
    public void Allocate_QuotaAcrossThreads_CountsEveryThread()
    {
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { MaxBytes = 10_000 });
        arena.AllocateMemory(10);

        // A request that hops threads leaves unused budget behind on the first one; the quota must still allow
        // everything up to the limit and refuse anything beyond it.
        var other = new Thread(() => arena.AllocateMemory(9_000));
        other.Start();
        other.Join();

        Assert.Equal(990, arena.AllocateMemory(990).Length);
        Assert.Throws<ArenaLimitExceededException>(() => arena.AllocateMemory(1));
        Assert.Equal(10_000, arena.AllocatedBytes);
    }

    [Fact]
    public void MaxBytes_LoweredAfterAllocations_RefusesFurtherAllocations()
    {
        using var arena = new Arena(TestPools.Create());
        arena.AllocateMemory(500);

        arena.MaxBytes = 400;

        Assert.Throws<ArenaLimitExceededException>(() => arena.AllocateMemory(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => arena.MaxBytes = -1);
        arena.Reset();
        Assert.Equal(400, arena.AllocateMemory(400).Length);
    }

    [Fact]
    public void Reset_ReturnsSlabsAndClearsAllocatedBytes()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using var arena = new Arena(pool);
        for (int i = 0; i < 10; i++)
        {
            arena.AllocateMemory(1000);
        }

        arena.AllocateMemory(50_000);
        Assert.True(arena.SlabsInUse >= 4);

        arena.Reset();

        Assert.Equal(0, arena.AllocatedBytes);
        Assert.Equal(0, arena.SlabsInUse);
        SlabPoolStatistics stats = pool.GetStatistics();
        Assert.Equal(0, stats.SlabsInUse);
        Assert.Equal(0, stats.OversizeInUse);
        Assert.Equal(16, arena.AllocateMemory(16).Length);
    }

    [Fact]
    public void Allocate_OfT_AlignsToTheTypeEvenOnAByteAlignedArena()
    {
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { Alignment = 1 });
        arena.AllocateMemory(3);

        Span<long> longs = arena.Allocate<long>(10);

        unsafe
        {
            fixed (long* p = longs)
            {
                Assert.Equal(0, (nint)p % 8);
            }
        }

        Assert.Equal(10, longs.Length);
        Assert.True(longs.IndexOfAnyExcept(0L) < 0);
        Assert.Equal(3 + 80, arena.AllocatedBytes);
    }

    [Fact]
    public void Allocate_OfT_BadCounts()
    {
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { MaxBytes = 1000 });

        Assert.True(arena.Allocate<int>(0).IsEmpty);
        Assert.Throws<ArgumentOutOfRangeException>(() => arena.Allocate<int>(-1));
        Assert.Throws<ArenaLimitExceededException>(() => arena.Allocate<long>(int.MaxValue));
        Assert.Throws<ArenaLimitExceededException>(() => arena.Allocate<int>(251));
        using var unlimited = new Arena(TestPools.Create());
        Assert.Throws<ArgumentOutOfRangeException>(() => unlimited.Allocate<long>(int.MaxValue));
        Assert.Equal(250, arena.Allocate<int>(250).Length);
    }

    [Fact]
    public void RegisterForCleanup_RunsLastRegisteredFirstAtReset()
    {
        using var arena = new Arena(TestPools.Create());
        var order = new List<int>();
        for (int i = 0; i < 5; i++)
        {
            arena.RegisterForCleanup(new Cleanup(order, i));
        }

        arena.Reset();
        Assert.Equal([4, 3, 2, 1, 0], order);

        arena.Reset();
        Assert.Equal(5, order.Count);
    }

    [Fact]
    public void RegisterForCleanup_RunsBeforeMemoryIsReleased()
    {
        using var arena = new Arena(TestPools.Create());
        Memory<byte> memory = arena.AllocateMemory(4);
        memory.Span.Fill(9);
        byte seen = 0;
        arena.RegisterForCleanup(new Callback(() => seen = memory.Span[0]));

        arena.Dispose();

        Assert.Equal(9, seen);
    }

    // The cleanup registered first runs last: a reset asked for by a later one must not take its memory away first.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reset_CleanupResetsOrDisposesItsOwnArena_EarlierCleanupsStillReadTheirMemory(bool disposeInCleanup)
    {
        using SlabPool pool = TestPools.Create();
        var arena = new Arena(pool);
        Memory<byte> memory = arena.AllocateMemory(16);
        memory.Span.Fill(7);
        byte seen = 0;
        arena.RegisterForCleanup(new Callback(() => seen = memory.Span[15]));
        arena.RegisterForCleanup(new Callback(() =>
        {
            if (disposeInCleanup)
            {
                arena.Dispose();
            }
            else
            {
                arena.Reset();
            }
        }));

        arena.Reset();

        Assert.Equal(7, seen);
        Assert.Throws<ObjectDisposedException>(() => memory.Span[0]);
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
        if (disposeInCleanup)
        {
            // The dispose asked for inside the reset is where that release ends.
            Assert.Throws<ObjectDisposedException>(() => arena.AllocateMemory(1));
        }
        else
        {
            Assert.Equal(1, arena.AllocateMemory(1).Length);
            arena.Dispose();
        }
    }

    // A release on another thread while cleanups run joins it: it returns at once, and the memory the cleanups may still
    // use goes back only when they have run. With the check off a slab handed back early would take their writes into
    // another arena.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Dispose_WhileAResetRunsItsCleanups_JoinsItAndTheMemoryStaysUntilTheyEnd(bool detect)
    {
        using SlabPool pool = TestPools.Create();
        var arena = new Arena(pool, new ArenaOptions { DetectUseAfterRelease = detect });
        Memory<byte> memory = arena.AllocateMemory(64);
        using var inCleanup = new ManualResetEventSlim();
        using var finish = new ManualResetEventSlim();
        long slabsInUseDuringCleanup = -1;
        Exception? cleanupFailure = null;
        arena.RegisterForCleanup(new Callback(() =>
        {
            inCleanup.Set();
            finish.Wait(TimeSpan.FromSeconds(10));
            slabsInUseDuringCleanup = pool.GetStatistics().SlabsInUse;
            cleanupFailure = Record.Exception(() => memory.Span.Fill(0xAB));
        }));
        var reset = Task.Run(arena.Reset);
        Assert.True(inCleanup.Wait(TimeSpan.FromSeconds(10)));

        await Task.Run(arena.Dispose).WaitAsync(TimeSpan.FromSeconds(10));
        bool disposedBeforeTheCleanupsEnded = arena.IsDisposed;
        finish.Set();
        await reset.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(disposedBeforeTheCleanupsEnded);
        Assert.Null(cleanupFailure);
        Assert.Equal(1, slabsInUseDuringCleanup);
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
        Assert.True(arena.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => arena.AllocateMemory(1));
    }

    // Nothing waits for a release under way, so neither a cleanup that waits for a thread releasing its own arena nor two
    // arenas whose cleanups release each other on two threads can deadlock.
    [Fact]
    public async Task Reset_CleanupWaitsForAThreadThatDisposesTheArena_Completes()
    {
        using SlabPool pool = TestPools.Create();
        var arena = new Arena(pool);
        arena.AllocateMemory(8);
        arena.RegisterForCleanup(new Callback(() => Assert.True(Task.Run(arena.Dispose).Wait(TimeSpan.FromSeconds(10)))));

        await Task.Run(arena.Reset).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(arena.IsDisposed);
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }

    [Fact]
    public async Task Reset_TwoArenasWhoseCleanupsResetEachOtherOnTwoThreads_BothComplete()
    {
        using SlabPool pool = TestPools.Create();
        using var x = new Arena(pool);
        using var y = new Arena(pool);
        using var bothInCleanup = new Barrier(2);
        x.AllocateMemory(8);
        y.AllocateMemory(8);
        x.RegisterForCleanup(new Callback(() =>
        {
            bothInCleanup.SignalAndWait(TimeSpan.FromSeconds(10));
            y.Reset();
        }));
        y.RegisterForCleanup(new Callback(() =>
        {
            bothInCleanup.SignalAndWait(TimeSpan.FromSeconds(10));
            x.Reset();
        }));

        await Task.WhenAll(Task.Run(x.Reset), Task.Run(y.Reset)).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
        Assert.Equal(1, x.AllocateMemory(1).Length);
    }

    // A reset asked for while a dispose is under way is a reset of a disposed arena.
    [Fact]
    public void Reset_InACleanupOfDispose_ThrowsObjectDisposed()
    {
        using SlabPool pool = TestPools.Create();
        var arena = new Arena(pool);
        Exception? reset = null;
        arena.RegisterForCleanup(new Callback(() => reset = Record.Exception(arena.Reset)));

        arena.Dispose();

        Assert.IsType<ObjectDisposedException>(reset);
        Assert.True(arena.IsDisposed);
    }

    // A reset asked for after a dispose that the release under way will carry out is a reset of a disposed arena.
    [Fact]
    public void Reset_InACleanupAfterItDisposedTheArena_ThrowsObjectDisposed()
    {
        using SlabPool pool = TestPools.Create();
        var arena = new Arena(pool);
        Exception? second = null;
        arena.RegisterForCleanup(new Callback(() =>
        {
            arena.Dispose();
            second = Record.Exception(arena.Reset);
        }));

        arena.Reset();

        Assert.IsType<ObjectDisposedException>(second);
        Assert.True(arena.IsDisposed);
    }

    [Fact]
    public void Reset_ThrowingCleanups_RunAllReturnSlabsAndAggregate()
    {
        using var pool = TestPools.Create();
        var arena = new Arena(pool);
        var order = new List<int>();
        arena.AllocateMemory(100);
        arena.RegisterForCleanup(new Cleanup(order, 0));
        arena.RegisterForCleanup(new Callback(() => throw new InvalidOperationException("first")));
        arena.RegisterForCleanup(new Cleanup(order, 2));
        arena.RegisterForCleanup(new Callback(() => throw new FormatException("second")));

        var ex = Assert.Throws<AggregateException>(() => arena.Dispose());

        Assert.Equal(2, ex.InnerExceptions.Count);
        Assert.IsType<FormatException>(ex.InnerExceptions[0]);
        Assert.IsType<InvalidOperationException>(ex.InnerExceptions[1]);
        Assert.Equal([2, 0], order);
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
        Assert.True(arena.IsDisposed);
    }

    [Fact]
    public void AllocateMemory_EightThreadsOnOneArena_RegionsNeverOverlap()
    {
        using var pool = TestPools.Create(slabSize: 16 * 1024);
        using var arena = new Arena(pool);
        const int perThread = 5000;
        var blocks = new Memory<byte>[8][];
        using var start = new Barrier(8);

        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            var mine = blocks[t] = new Memory<byte>[perThread];
            var random = new Random(t);
            start.SignalAndWait();
            for (int i = 0; i < perThread; i++)
            {
                mine[i] = arena.AllocateMemory(random.Next(1, 64));
                mine[i].Span.Fill((byte)(t + 1));
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        long expected = 0;
        for (int t = 0; t < 8; t++)
        {
            foreach (Memory<byte> block in blocks[t])
            {
                expected += block.Length;
                Assert.True(block.Span.IndexOfAnyExcept((byte)(t + 1)) < 0);
            }
        }

        Assert.Equal(expected, arena.AllocatedBytes);
    }

    [Fact]
    public void Reset_AfterManyThreadsAllocated_AccountingStaysExact()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = 100_000 });
        var threads = Enumerable.Range(0, 12).Select(_ => new Thread(() =>
        {
            arena.AllocateMemory(100);
            arena.Reset();
            arena.AllocateMemory(100);
        })).ToList();

        // Sequentially, so every thread's chunk is dropped by a reset while the thread still caches it.
        foreach (Thread thread in threads)
        {
            thread.Start();
            thread.Join();
        }

        Assert.Equal(100, arena.AllocatedBytes);
        arena.Reset();
        Assert.Equal(0, arena.AllocatedBytes);
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }

    [Fact]
    public void AllocateMemory_ThreadHops_EachThreadKeepsItsOwnRegions()
    {
        using var arena = new Arena(TestPools.Create());
        Memory<byte> a = arena.AllocateMemory(64);
        a.Span.Fill(1);
        Memory<byte> b = default;
        var other = new Thread(() =>
        {
            b = arena.AllocateMemory(64);
            b.Span.Fill(2);
        });
        other.Start();
        other.Join();
        Memory<byte> c = arena.AllocateMemory(64);
        c.Span.Fill(3);

        Assert.True(a.Span.IndexOfAnyExcept((byte)1) < 0);
        Assert.True(b.Span.IndexOfAnyExcept((byte)2) < 0);
        Assert.Equal(192, arena.AllocatedBytes);
    }

    [Fact]
    public void Reset_AfterCycleOutgrewOneSlab_NextCycleCarvesOneLargerBlock()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using var arena = new Arena(pool);
        for (int i = 0; i < 10; i++)
        {
            arena.AllocateMemory(1000);
        }

        Assert.Equal(3, arena.SlabsInUse);
        arena.Reset();
        long oversizeBefore = pool.GetStatistics().OversizeRented;

        var memories = new List<Memory<byte>>();
        for (int i = 0; i < 10; i++)
        {
            memories.Add(arena.AllocateMemory(1000));
        }

        // One block of four slabs instead of three slabs: one trip through the pool.
        Assert.Equal(1, arena.SlabsInUse);
        Assert.Equal(oversizeBefore + 1, pool.GetStatistics().OversizeRented);
        Assert.Equal(10_000, arena.AllocatedBytes);
        for (int i = 0; i < memories.Count; i++)
        {
            Assert.True(memories[i].Span.IndexOfAnyExcept((byte)0) < 0);
            memories[i].Span.Fill((byte)(i + 1));
        }

        for (int i = 0; i < memories.Count; i++)
        {
            Assert.True(memories[i].Span.IndexOfAnyExcept((byte)(i + 1)) < 0);
        }
    }

    [Fact]
    public void Reset_PoolNearItsCap_FirstBlockRoundsDownInstead()
    {
        // A 64 KiB cap; another arena holds 20 KiB, the first cycle takes 12 KiB: a 16 KiB block would pass half the
        // cap, where an arena stops rounding up.
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 64 * 1024);
        using var other = new Arena(pool);
        for (int i = 0; i < 5; i++)
        {
            other.AllocateMemory(4000);
        }

        using var arena = new Arena(pool);
        AllocateThenReset(arena, count: 10, size: 1000);
        long oversizeBefore = pool.GetStatistics().OversizeRented;

        for (int i = 0; i < 10; i++)
        {
            arena.AllocateMemory(1000);
        }

        // Two slabs' block, then one slab: what slabs alone would hold, not a third more.
        Assert.Equal(2, arena.SlabsInUse);
        Assert.Equal(oversizeBefore + 1, pool.GetStatistics().OversizeRented);
        Assert.Equal(10_000, arena.AllocatedBytes);
    }

    [Fact]
    public void Reset_GrownBlock_IsZeroedAndCheckedLikeASlab()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using var arena = new Arena(pool);
        AllocateThenReset(arena, count: 3, size: 4000);
        Memory<byte> stale = arena.AllocateMemory(12_000);
        stale.Span.Fill(0xAB);
        nint staleAddress = TestPools.AddressOf(stale);
        Assert.Equal(1, arena.SlabsInUse);
        arena.Reset();

        // The same block comes back from the pool: it must read zero, and the old Memory<byte> must not see it.
        Memory<byte> fresh = arena.AllocateMemory(12_000);
        Assert.Equal(staleAddress, TestPools.AddressOf(fresh));
        Assert.True(fresh.Span.IndexOfAnyExcept((byte)0) < 0);
        Assert.Throws<ObjectDisposedException>(() => stale.Span[0]);
    }

    [Fact]
    public void Reset_AfterSmallCycles_FirstBlockShrinksBackToOneSlab()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using var arena = new Arena(pool);
        AllocateThenReset(arena, count: 10, size: 1000);
        var oversizePerCycle = new List<long>();
        for (int cycle = 0; cycle < 4; cycle++)
        {
            long before = pool.GetStatistics().OversizeRented;
            arena.AllocateMemory(100);
            arena.Reset();
            oversizePerCycle.Add(pool.GetStatistics().OversizeRented - before);
        }

        // Four slabs, then two, then one slab from then on.
        Assert.Equal([1L, 1L, 0L, 0L], oversizePerCycle);
    }

    // One cycle of `count` allocations of `size` bytes, which the arena's next cycle learns from.
    private static void AllocateThenReset(Arena arena, int count, int size)
    {
        for (int i = 0; i < count; i++)
        {
            arena.AllocateMemory(size);
        }

        arena.Reset();
    }

    [Fact]
    public void Reset_AfterCycleOnTwoThreads_NextCycleLeavesRoomForAnotherThread()
    {
        using var arena = new Arena(TestPools.Create());

        // A cycle on one thread: the next cycle's first chunk takes its whole slab.
        arena.AllocateMemory(64);
        arena.Reset();
        Assert.Equal(2, AllocateOnTwoThreads(arena));
        arena.Reset();

        // That cycle hopped threads, so the next one leaves half the slab for the second thread.
        Assert.Equal(1, AllocateOnTwoThreads(arena));

        static int AllocateOnTwoThreads(Arena arena)
        {
            arena.AllocateMemory(64).Span.Fill(1);
            var other = new Thread(() => arena.AllocateMemory(64).Span.Fill(2));
            other.Start();
            other.Join();
            Assert.Equal(128, arena.AllocatedBytes);
            return arena.SlabsInUse;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(8192)]
    [InlineData(-8)]
    public void Constructor_BadAlignment_ThrowsArgumentExceptionNamingIt(int alignment)
    {
        var ex = Assert.Throws<ArgumentException>(() => new Arena(TestPools.Create(), new ArenaOptions { Alignment = alignment }));

        Assert.Equal("Alignment", ex.ParamName);
        Assert.Contains("Alignment", ex.Message);
    }

    [Fact]
    public void Constructor_NegativeQuota_ThrowsArgumentExceptionNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Arena(new ArenaOptions { MaxBytes = -1 }));

        Assert.Equal("MaxBytes", ex.ParamName);
    }

    [Fact]
    public void Constructor_Default_UsesSharedPool()
    {
        using var arena = new Arena();

        Assert.Same(SlabPool.Shared, arena.Pool);
        Assert.Equal(8, arena.Alignment);
        Assert.True(arena.ZeroMemory);
    }

    [Fact]
    public void AllocateMemory_DisposedPool_ThrowsObjectDisposed()
    {
        var pool = TestPools.Create();
        using var arena = new Arena(pool);
        pool.Dispose();

        Assert.Throws<ObjectDisposedException>(() => arena.AllocateMemory(10));
    }

    [Fact]
    public void AllocateMemory_OverTheLargestBlockAtTheLargestAlignment_ThrowsArgumentOutOfRange()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { Alignment = ArenaOptions.MaxAlignment });

        // The largest block, rounded up to the alignment and with room to align its start, must fit the provider.
        long rounded = (Arena.MaxBlockSize + ArenaOptions.MaxAlignment - 1L) & ~(ArenaOptions.MaxAlignment - 1L);
        Assert.True(rounded + ArenaOptions.MaxAlignment <= Array.MaxLength);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => arena.AllocateMemory(Arena.MaxBlockSize + 1));
        Assert.Contains(Arena.MaxBlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
        Assert.Equal(0, arena.SlabsInUse);
        Assert.Equal(Arena.MaxBlockSize, new ArenaMemoryPool(arena).MaxBufferSize);
    }

    // A registration landing after the release ran the cleanups and before it took the arena's gate must not be
    // accepted and then forgotten.
    [Fact]
    public void Dispose_RacingRegisterForCleanup_EveryAcceptedCleanupIsDisposed()
    {
        using var pool = TestPools.Create();
        for (int trial = 0; trial < 1000; trial++)
        {
            var arena = new Arena(pool);
            var accepted = new List<Counted>();
            using var start = new Barrier(2);
            var registrar = new Thread(() =>
            {
                start.SignalAndWait();
                while (true)
                {
                    var cleanup = new Counted();
                    try
                    {
                        arena.RegisterForCleanup(cleanup);
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }

                    accepted.Add(cleanup);
                }
            });
            registrar.Start();
            start.SignalAndWait();
            Thread.SpinWait(trial % 200);
            arena.Dispose();
            registrar.Join();

            Counted? forgotten = accepted.Find(c => c.Disposed != 1);
            Assert.True(forgotten is null, $"trial {trial}: {accepted.Count(c => c.Disposed != 1)} of {accepted.Count} accepted cleanups were not disposed exactly once");
        }
    }

    private sealed class Cleanup(List<int> order, int id) : IDisposable
    {
        public void Dispose() => order.Add(id);
    }

    private sealed class Callback(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    private sealed class Counted : IDisposable
    {
        private int _disposed;

        public int Disposed => Volatile.Read(ref _disposed);

        public void Dispose() => Interlocked.Increment(ref _disposed);
    }
}
