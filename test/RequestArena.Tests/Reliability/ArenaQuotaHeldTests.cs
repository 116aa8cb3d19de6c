using RequestArena.Adapters;

namespace RequestArena.Tests.Reliability;

// A quota stops one request from eating the server only if it bounds the memory the request holds, not just the bytes
// it asked for: alignment padding, per-thread regions, oversize blocks and native adapter memory all count, and the
// bound is twice the quota.
public class ArenaQuotaHeldTests
{
    private const long Quota = 64 * 1024;

    [Fact]
    public void OneByteAllocationsUntilRefused_HoldAtMostTwiceTheQuota()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = Quota });
        long granted = 0;
        while (arena.TryAllocateMemory(1, out _))
        {
            granted++;
            AssertHeldWithinBound(arena, pool, Quota);
        }

        Assert.InRange(granted, Quota / 8 / 2, Quota);
        AssertHeldWithinBound(arena, pool, Quota);
    }

    // Twice a quota smaller than the alignment (or than what its padding needs) is less than one aligned allocation: the
    // first one, within the quota, is served all the same, with one block of exactly what it takes.
    [Theory]
    [InlineData(1, 8)]
    [InlineData(7, 8)]
    [InlineData(1, 64)]
    [InlineData(100, 4096)]
    [InlineData(1000, 4096)]
    public void FirstAllocation_QuotaBelowItsAlignedSize_IsServedWithOneExactBlock(long quota, int alignment)
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = quota, Alignment = alignment });

        Memory<byte> first = arena.AllocateMemory(1);

        Assert.Equal(1, first.Length);
        Assert.Equal(0, first.Span[0]);
        using (System.Buffers.MemoryHandle pin = first.Pin())
        {
            unsafe
            {
                Assert.Equal(0, (long)pin.Pointer % alignment);
            }
        }

        Assert.InRange(arena.HeldBytes, 1, Math.Max(2 * quota, alignment));
        var refused = Assert.Throws<ArenaLimitExceededException>(() =>
        {
            for (int i = 0; i <= quota; i++)
            {
                arena.AllocateMemory(1);
            }
        });
        Assert.Equal(quota, refused.Limit);
        Assert.InRange(arena.HeldBytes, 1, Math.Max(2 * quota, alignment));
        Assert.InRange(arena.AllocatedBytes, 1, quota);
    }

    [Fact]
    public void ManyThreadsAllocatingALittle_AllSucceedAndHoldAtMostTwiceTheQuota()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = Quota });
        var threads = Enumerable.Range(0, 32).Select(t => new Thread(() => arena.AllocateMemory(8).Span.Fill(1))).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Equal(32 * 8, arena.AllocatedBytes);
        AssertHeldWithinBound(arena, pool, Quota);
    }

    [Fact]
    public void OneOversizeAllocation_HoldsAtMostTwiceTheQuota()
    {
        const long quota = 2 * 1024 * 1024;
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = quota });
        Memory<byte> block = arena.AllocateMemory(1024 * 1024 + 65);

        Assert.Equal(1024 * 1024 + 65, block.Length);
        AssertHeldWithinBound(arena, pool, quota);
    }

    [Fact]
    public void OversizeClassLargerThanTheBound_TakesAnExactBlockInstead()
    {
        // A pooled class for 600 KiB is 1 MiB; twice a 400 KiB quota leaves room only for the exact size.
        const long quota = 400 * 1024;
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = quota });
        Memory<byte> block = arena.AllocateMemory(390 * 1024);
        arena.AllocateMemory(400 * 1024 - 390 * 1024).Span.Fill(2);

        Assert.True(block.Span.IndexOfAnyExcept((byte)0) < 0);
        AssertHeldWithinBound(arena, pool, quota);
        arena.Reset();
        Assert.Equal(0, arena.HeldBytes);
        Assert.Equal(0, pool.GetStatistics().OversizeInUse);
    }

    [Fact]
    public void NativeThenArenaThenBidi_HoldAtMostTwiceTheQuota()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = Quota });
        var ndis = new NdisMemoryAllocator(arena);
        var bidi = new BidiAllocator(arena);

        Assert.Equal(SlabProviderStatus.Success, ndis.AllocateMemory(out _, 60 * 1024, NdisMemoryFlags.NonCached));
        arena.TryAllocateMemory(60 * 1024, out _);
        bidi.Allocate(3000);

        Assert.True(arena.HeldBytes >= 60 * 1024, "native memory is counted as held");
        AssertHeldWithinBound(arena, pool, Quota);
        arena.Reset();
        Assert.Equal(0, ndis.NativeBytesInUse);
        Assert.Equal(0, arena.HeldBytes);
    }

    [Fact]
    public void TwoThreadsRacingToTheLimit_OvershootByAtMostOneAllocationEach()
    {
        const long quota = 256 * 1024;
        const int size = 16;
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = quota });
        var deadline = DateTime.UtcNow.AddSeconds(5);
        for (int trial = 0; trial < 300 && DateTime.UtcNow < deadline; trial++)
        {
            using var start = new Barrier(2);
            long granted = 0;
            var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                long mine = 0;
                while (arena.TryAllocateMemory(size, out _))
                {
                    mine += size;
                }

                Interlocked.Add(ref granted, mine);
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());

            Assert.InRange(granted, quota - 2 * size, quota + 2 * size);
            AssertHeldWithinBound(arena, pool, quota);
            arena.Reset();
        }
    }

    // A provider may round every block up to its own granule; the arena and the pool use only what they asked for, so
    // the bound holds on what the arena can use, and the provider still gets back exactly the blocks it made.
    [Theory]
    [InlineData(3000, 100)]
    [InlineData(10_000, 9000)]
    public void ProviderRoundsBlocksUp_HeldStaysWithinTwiceTheQuotaAndEveryBlockGoesBack(long quota, int size)
    {
        var provider = new RoundingProvider(64 * 1024);
        using (var pool = TestPools.Create(slabSize: 4096, provider: provider))
        {
            using var arena = new Arena(pool, new ArenaOptions { MaxBytes = quota });
            Memory<byte> memory = arena.AllocateMemory(size);
            Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0);
            AssertHeldWithinBound(arena, pool, quota);
            arena.Reset();
            Assert.Equal(0, arena.HeldBytes);
        }

        Assert.True(provider.Allocated > 0);
        Assert.Equal(provider.Allocated, provider.Freed);
    }

    private sealed class RoundingProvider(int granule) : ISlabProvider
    {
        private readonly PinnedArraySlabProvider _inner = new();

        public int Allocated;
        public int Freed;

        public string Name => "rounding";

        public bool BlocksOutliveRelease => true;

        public SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block)
        {
            SlabProviderStatus status = _inner.Allocate((length + granule - 1) / granule * granule, alignment, out block);
            if (status == SlabProviderStatus.Success)
            {
                Allocated++;
            }

            return status;
        }

        public void Free(in SlabBlock block)
        {
            Assert.Equal(0, block.Length % granule);
            Freed++;
            _inner.Free(block);
        }
    }

    private static void AssertHeldWithinBound(Arena arena, SlabPool pool, long quota)
    {
        SlabPoolStatistics statistics = pool.GetStatistics();
        Assert.True(arena.HeldBytes <= 2 * quota, $"{arena.HeldBytes} bytes held under a quota of {quota}");
        Assert.True(statistics.SlabsInUse * (long)pool.SlabSize <= 2 * quota, $"{statistics.SlabsInUse} slabs in use under a quota of {quota}");
    }
}
