using System.Runtime.CompilerServices;

namespace RequestArena.Tests;

public class SlabPoolTests
{
    [Fact]
    public void RentAndReturn_CountersBalance()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using (var arena = new Arena(pool))
        {
            for (int i = 0; i < 10; i++)
            {
                arena.AllocateMemory(1000);
            }

            arena.AllocateMemory(20_000);
            SlabPoolStatistics during = pool.GetStatistics();
            Assert.True(during.SlabsInUse >= 3);
            Assert.Equal(1, during.OversizeInUse);
        }

        SlabPoolStatistics after = pool.GetStatistics();
        Assert.Equal(after.SlabsRented, after.SlabsReturned);
        Assert.Equal(0, after.SlabsInUse);
        Assert.Equal(0, after.OversizeInUse);
        Assert.Equal(after.SlabsRented, after.PooledSlabs);
        Assert.Equal(1, after.PooledOversizeBlocks);
        Assert.Equal(after.PooledSlabs * 4096L + 32 * 1024, after.PooledBytes);
    }

    [Fact]
    public void Oversize_ReturnedBlock_IsReusedZeroedByTheNextLargeAllocation()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        nint first;
        using (var arena = new Arena(pool))
        {
            Memory<byte> big = arena.AllocateMemory(20_000);
            big.Span.Fill(0xEE);
            first = TestPools.AddressOf(big);
        }

        using var next = new Arena(pool);
        Memory<byte> again = next.AllocateMemory(30_000);

        Assert.Equal(first, TestPools.AddressOf(again));
        Assert.True(again.Span.IndexOfAnyExcept((byte)0) < 0);
        SlabPoolStatistics stats = pool.GetStatistics();
        Assert.Equal(2, stats.OversizeRented);
        Assert.Equal(32 * 1024, stats.ProviderAllocatedBytes);
    }

    [Fact]
    public void Oversize_LargerThanThePoolKeeps_GoesBackToTheProvider()
    {
        var provider = new NativeMemorySlabProvider();
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 1 << 20, provider: provider);
        Assert.Equal(4096 * 64, pool.MaxPooledBlockLength);

        using (var arena = new Arena(pool))
        {
            arena.AllocateMemory(4096 * 64 + 1);
        }

        Assert.Equal(0, provider.OutstandingBytes);
        Assert.Equal(0, pool.GetStatistics().PooledOversizeBlocks);
        Assert.Equal(0, pool.GetStatistics().OversizeInUse);
    }

    [Fact]
    public void Oversize_PooledBlocksCountAgainstTheCap()
    {
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 64 * 1024);
        using (var arena = new Arena(pool))
        {
            arena.AllocateMemory(16_000);
            arena.AllocateMemory(16_000);
            arena.AllocateMemory(16_000);
            arena.AllocateMemory(16_000);
            arena.AllocateMemory(16_000);
        }

        SlabPoolStatistics stats = pool.GetStatistics();
        Assert.True(stats.PooledBytes <= 64 * 1024, $"pooled {stats.PooledBytes}");
        Assert.Equal(4, stats.PooledOversizeBlocks);
        Assert.Equal(1, stats.SlabsDropped);
    }

    [Fact]
    public void Trim_FreesOversizeBlocksToo()
    {
        var provider = new NativeMemorySlabProvider();
        using var pool = TestPools.Create(slabSize: 4096, provider: provider);
        using (var arena = new Arena(pool))
        {
            arena.AllocateMemory(100);
            arena.AllocateMemory(50_000);
        }

        pool.Trim();

        Assert.Equal(0, provider.OutstandingBytes);
        Assert.Equal(0, pool.GetStatistics().PooledBytes);
        Assert.Equal(2, pool.GetStatistics().SlabsTrimmed);
    }

    [Fact]
    public void Return_BeyondMaxRetainedBytes_DropsToProvider()
    {
        var provider = new NativeMemorySlabProvider();
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 2 * 4096, provider: provider);
        using (var arena = new Arena(pool))
        {
            for (int i = 0; i < 5; i++)
            {
                arena.AllocateMemory(4000);
            }
        }

        SlabPoolStatistics stats = pool.GetStatistics();
        Assert.Equal(2, stats.PooledSlabs);
        Assert.Equal(3, stats.SlabsDropped);
        Assert.Equal(2 * 4096, provider.OutstandingBytes);
        Assert.True(stats.PooledBytes <= stats.MaxRetainedBytes);
    }

    [Fact]
    public void MaxRetainedBytesZero_KeepsNothing()
    {
        using var pool = TestPools.Create(maxRetained: 0);
        using (var arena = new Arena(pool))
        {
            arena.AllocateMemory(10);
        }

        Assert.Equal(0, pool.GetStatistics().PooledSlabs);
    }

    [Fact]
    public void Trim_FreesEveryIdleSlabButNotThoseInUse()
    {
        var provider = new NativeMemorySlabProvider();
        using var pool = TestPools.Create(slabSize: 4096, provider: provider);
        using (var done = new Arena(pool))
        {
            for (int i = 0; i < 4; i++)
            {
                done.AllocateMemory(4000);
            }
        }

        using var busy = new Arena(pool);
        Memory<byte> held = busy.AllocateMemory(100);

        pool.Trim();

        SlabPoolStatistics stats = pool.GetStatistics();
        Assert.Equal(0, stats.PooledSlabs);
        Assert.Equal(3, stats.SlabsTrimmed);
        Assert.Equal(4096, provider.OutstandingBytes);
        Assert.Equal(100, held.Span.Length);
    }

    [Fact]
    public void IdleTrimming_GivesSlabsBackWithoutTraffic()
    {
        var provider = new NativeMemorySlabProvider();
        using var pool = new SlabPool(new SlabPoolOptions { SlabSize = 4096, Provider = provider, TrimInterval = TimeSpan.FromMilliseconds(20) });
        using (var arena = new Arena(pool))
        {
            for (int i = 0; i < 40; i++)
            {
                arena.AllocateMemory(4000);
            }
        }

        // The timer runs from the pool's creation, so it may already have trimmed some since the arena returned them.
        SlabPoolStatistics returned = pool.GetStatistics();
        Assert.Equal(40, returned.PooledSlabs + returned.SlabsTrimmed);
        SlabPoolStatistics idle = TestPools.WaitUntilNothingIsPooled(pool);
        Assert.Equal(0, idle.PooledSlabs);
        Assert.Equal(40, idle.SlabsTrimmed);
        Assert.Equal(0, provider.OutstandingBytes);
    }

    [Fact]
    public void TrimTick_WhileRentsOutpaceReturns_KeepsSlabs()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using (var warm = new Arena(pool))
        {
            warm.AllocateMemory(4000);
            warm.AllocateMemory(4000);
        }

        pool.TrimTick();
        using var growing = new Arena(pool);
        growing.AllocateMemory(4000);
        growing.AllocateMemory(4000);
        growing.AllocateMemory(4000);

        pool.TrimTick();

        Assert.Equal(0, pool.GetStatistics().SlabsTrimmed);
    }

    [Fact]
    public void TrimTick_WhenReturnsWin_GivesBackALittle()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        var arenas = Enumerable.Range(0, 3).Select(_ => new Arena(pool)).ToList();
        arenas.ForEach(a => a.AllocateMemory(4000));
        pool.TrimTick();

        arenas.ForEach(a => a.Dispose());
        pool.TrimTick();

        SlabPoolStatistics stats = pool.GetStatistics();
        Assert.Equal(1, stats.SlabsTrimmed);
        Assert.Equal(2, stats.PooledSlabs);
    }

    [Fact]
    public void TrimTick_WhenIdle_GivesBackAQuarterAtLeastEight()
    {
        using var pool = TestPools.Create(slabSize: 4096);
        using (var arena = new Arena(pool))
        {
            for (int i = 0; i < 40; i++)
            {
                arena.AllocateMemory(4000);
            }
        }

        pool.TrimTick();
        Assert.Equal(40, pool.GetStatistics().PooledSlabs);

        pool.TrimTick();
        Assert.Equal(30, pool.GetStatistics().PooledSlabs);
        pool.TrimTick();
        pool.TrimTick();
        Assert.Equal(40 - 10 - 8 - 8, pool.GetStatistics().PooledSlabs);
    }

    [Fact]
    public void Dispose_Shared_ThrowsInvalidOperation()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => SlabPool.Shared.Dispose());

        Assert.Contains("Trim", ex.Message);
        using var arena = new Arena();
        Assert.Equal(4, arena.AllocateMemory(4).Length);
    }

    [Fact]
    public void Dispose_SlabsReturnedLaterGoToProvider()
    {
        var provider = new NativeMemorySlabProvider();
        var pool = TestPools.Create(provider: provider);
        var arena = new Arena(pool);
        arena.AllocateMemory(100);

        pool.Dispose();
        arena.Dispose();

        Assert.Equal(0, provider.OutstandingBytes);
        Assert.Equal(0, pool.GetStatistics().PooledSlabs);
    }

    [Fact]
    public void Rent_ProviderFails_ThrowsInsufficientMemoryAndKeepsCountersRight()
    {
        using var pool = TestPools.Create(provider: new FailingProvider());
        using var arena = new Arena(pool);

        var ex = Assert.Throws<InsufficientMemoryException>(() => arena.AllocateMemory(10));

        Assert.Contains("Resources", ex.Message);
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
        Assert.Equal(0, arena.SlabsInUse);
    }

    [Theory]
    [InlineData(4095)]
    [InlineData(16 * 1024 * 1024 + 1)]
    [InlineData(0)]
    public void Constructor_SlabSizeOutOfRange_ThrowsArgumentExceptionNamingIt(int slabSize)
    {
        var ex = Assert.Throws<ArgumentException>(() => new SlabPool(new SlabPoolOptions { SlabSize = slabSize }));

        Assert.Equal("SlabSize", ex.ParamName);
    }

    [Fact]
    public void Constructor_NegativeRetention_ThrowsArgumentExceptionNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SlabPool(new SlabPoolOptions { MaxRetainedBytes = -1 }));

        Assert.Equal("MaxRetainedBytes", ex.ParamName);
    }

    [Fact]
    public void Constructor_ZeroTrimInterval_ThrowsArgumentExceptionNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SlabPool(new SlabPoolOptions { TrimInterval = TimeSpan.Zero }));

        Assert.Equal("TrimInterval", ex.ParamName);
    }

    // A timer period is whole milliseconds; a shorter interval would round to 0 and trim once, then never again.
    [Theory]
    [InlineData(5_000)]
    [InlineData(9_999)]
    [InlineData(-10_001)]
    public void Constructor_TrimIntervalBelowOneMillisecond_ThrowsArgumentExceptionNamingIt(long ticks)
    {
        var ex = Assert.Throws<ArgumentException>(() => new SlabPool(new SlabPoolOptions { TrimInterval = TimeSpan.FromTicks(ticks) }));

        Assert.Equal("TrimInterval", ex.ParamName);
        Assert.Contains("must be from 00:00:00.0010000 to 49.17:02:47.2940000, or Timeout.InfiniteTimeSpan", ex.Message);
    }

    [Fact]
    public void Constructor_TrimIntervalOverTheTimersLongestPeriod_ThrowsArgumentExceptionNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SlabPool(new SlabPoolOptions { TrimInterval = SlabPoolOptions.MaxTrimInterval + TimeSpan.FromMilliseconds(1) }));

        Assert.Equal("TrimInterval", ex.ParamName);
    }

    public static TheoryData<TimeSpan> AcceptedTrimIntervals() =>
        [SlabPoolOptions.MinTrimInterval, TimeSpan.FromSeconds(10), SlabPoolOptions.MaxTrimInterval, Timeout.InfiniteTimeSpan];

    [Theory]
    [MemberData(nameof(AcceptedTrimIntervals))]
    public void Constructor_TrimIntervalAtItsBounds_IsThePoolsTrimInterval(TimeSpan interval)
    {
        using var pool = new SlabPool(new SlabPoolOptions { TrimInterval = interval });

        Assert.Equal(interval, pool.TrimInterval);
    }

    // A provider that is out of memory: a real condition the pool must survive, which no real provider shows on demand.
    private sealed class FailingProvider : ISlabProvider
    {
        public string Name => "failing";

        public SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block)
        {
            block = default;
            return SlabProviderStatus.Resources;
        }

        public void Free(in SlabBlock block)
        {
        }
    }

    // Pooled oversize blocks are counted under the pool's gate and unpooled ones outside it; two threads doing one each
    // must not lose a count. A provider that hands out one preallocated block keeps the unpooled path fast enough for
    // the counts to collide.
    [Fact]
    public void Statistics_PooledAndUnpooledOversizeOnTwoThreads_NoCountLost()
    {
        using var pool = new SlabPool(new SlabPoolOptions
        {
            SlabSize = 4096,
            MaxRetainedBytes = 64 * 1024,
            TrimInterval = Timeout.InfiniteTimeSpan,
            Provider = new OneBlockProvider(),
        });
        Assert.True(pool.MaxPooledBlockLength is >= 6000 and < 20_000);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        long[] rents = new long[2];
        Thread[] threads = [.. new[] { 6000, 20_000 }.Select((size, index) => new Thread(() =>
        {
            using var arena = new Arena(pool, new ArenaOptions { ZeroMemory = false });
            while (!stop.IsCancellationRequested)
            {
                arena.AllocateMemory(size);
                arena.Reset();
                rents[index]++;
            }
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        SlabPoolStatistics statistics = pool.GetStatistics();
        Assert.Equal(0, statistics.OversizeInUse);
        Assert.Equal(rents[0] + rents[1], statistics.OversizeRented);
    }

    private sealed class OneBlockProvider : ISlabProvider
    {
        private readonly byte[] _block = GC.AllocateArray<byte>(64 * 1024, pinned: true);

        public string Name => "one block";

        public bool BlocksOutliveRelease => true;

        public unsafe SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block)
        {
            nint address = (nint)Unsafe.AsPointer(ref _block[0]);
            int offset = (int)(((address + alignment - 1) & ~(nint)(alignment - 1)) - address);
            block = new SlabBlock(_block, offset, length);
            return SlabProviderStatus.Success;
        }

        public void Free(in SlabBlock block)
        {
        }
    }
}
