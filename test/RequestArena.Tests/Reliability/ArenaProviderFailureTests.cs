using Xunit.Abstractions;

namespace RequestArena.Tests.Reliability;

// A slab provider that refuses (a shared-memory budget, native memory exhausted): the allocation that needed the
// slab fails with InsufficientMemoryException, and the arena must be exactly as it was, its thread's chunk included.
public sealed class ArenaProviderFailureTests(ITestOutputHelper output)
{
    [Fact]
    public void ProviderRefusesSlab_ChunkKeepsItsTailAndNothingIsHandedOutTwice()
    {
        var provider = new SwitchableProvider();
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 0, provider: provider);
        using var arena = new Arena(pool);
        var held = new List<(Memory<byte> Memory, byte Fill)>();
        for (int i = 0; i < 5; i++)
        {
            Memory<byte> memory = arena.AllocateMemory(700);
            memory.Span.Fill((byte)(i + 1));
            held.Add((memory, (byte)(i + 1)));
        }

        // 2,000 bytes fit neither the chunk's tail nor the rest of the slab: a new slab is needed, and refused.
        provider.Refuse = true;
        Assert.Throws<InsufficientMemoryException>(() => arena.AllocateMemory(2000));
        Assert.Throws<InsufficientMemoryException>(() => arena.AllocateMemory(2000));
        provider.Refuse = false;
        Assert.Equal(3500, arena.AllocatedBytes);

        // 300 bytes come from the chunk's tail; 400 no longer fit there but would fit in the slab from where the
        // tail began: they must not be placed over the 300.
        Memory<byte> a = arena.AllocateMemory(300);
        a.Span.Fill(0xAA);
        Memory<byte> b = arena.AllocateMemory(400);
        b.Span.Fill(0xBB);
        held.Add((a, 0xAA));
        held.Add((b, 0xBB));

        Assert.All(held, h => Assert.False(h.Memory.Span.ContainsAnyExcept(h.Fill), "an allocation was overwritten by a later one"));
        Assert.Equal(4200, arena.AllocatedBytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void ProviderRefusesAtRandom_ArenaMatchesTheModel(int seed)
    {
        var random = new Random(seed);
        var provider = new SwitchableProvider();
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 4096 * random.Next(0, 4), provider: provider);
        using var arena = new Arena(pool, new ArenaOptions { Alignment = 1 << random.Next(0, 5) });
        var held = new List<(Memory<byte> Memory, byte Fill)>();
        long allocated = 0;
        int refused = 0;
        string step = "start";
        try
        {
            for (int i = 0; i < 400; i++)
            {
                int size = random.Next(10) == 0 ? random.Next(4_097, 10_000) : random.Next(1, 2_500);
                provider.Refuse = random.Next(3) == 0;
                step = $"step {i}: AllocateMemory({size}) with the provider {(provider.Refuse ? "refusing" : "supplying")}";
                try
                {
                    Memory<byte> memory = arena.AllocateMemory(size);
                    byte fill = (byte)random.Next(1, 256);
                    Assert.False(memory.Span.ContainsAnyExcept((byte)0), "a new allocation was not zeroed");
                    memory.Span.Fill(fill);
                    held.Add((memory, fill));
                    allocated += size;
                }
                catch (InsufficientMemoryException) when (provider.Refuse)
                {
                    refused++;
                }

                Assert.Equal(allocated, arena.AllocatedBytes);
                Assert.All(held, h => Assert.False(h.Memory.Span.ContainsAnyExcept(h.Fill), "an allocation was overwritten by a later one"));
                if (random.Next(40) == 0)
                {
                    step = $"step {i}: Reset()";
                    arena.Reset();
                    held.Clear();
                    allocated = 0;
                }
            }

            step = "Dispose()";
            provider.Refuse = false;
            arena.Dispose();
            Assert.Equal(0, pool.GetStatistics().SlabsInUse);
            Assert.Equal(0, pool.GetStatistics().OversizeInUse);
            output.WriteLine($"seed {seed}: {refused} allocations refused by the provider, {held.Count} held at the end");
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException || !ex.Message.StartsWith("seed ", StringComparison.Ordinal))
        {
            throw new Xunit.Sdk.XunitException($"seed {seed}, {step}: {ex.Message}");
        }
    }

    [Fact]
    public void ProviderFreeThrows_ResetLetsGoOfEverySlabOnce()
    {
        var provider = new SwitchableProvider();
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 2 * 4096, provider: provider);
        var arena = new Arena(pool);
        for (int i = 0; i < 3; i++)
        {
            arena.AllocateMemory(4000);
        }

        Assert.Equal(3, arena.SlabsInUse);
        provider.ThrowOnFree = true;

        // Two slabs fit the pool; the third is dropped and freed, and the provider throws.
        IOException thrown = Assert.Throws<IOException>(arena.Reset);
        Assert.Equal("free failed", thrown.Message);
        Assert.Equal(0, arena.SlabsInUse);
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);

        // A second release gives nothing back again: two later owners of the pooled slabs never share one.
        provider.ThrowOnFree = false;
        using var other = new Arena(pool);
        Memory<byte> a = other.AllocateMemory(4000);
        Memory<byte> b = other.AllocateMemory(4000);
        a.Span.Fill(0x11);
        b.Span.Fill(0x22);
        arena.Reset();
        using var third = new Arena(pool);
        third.AllocateMemory(4000).Span.Fill(0xAA);
        third.AllocateMemory(4000).Span.Fill(0xBB);

        Assert.Equal(4, pool.GetStatistics().SlabsInUse);
        Assert.True(a.Span.IndexOfAnyExcept((byte)0x11) < 0);
        Assert.True(b.Span.IndexOfAnyExcept((byte)0x22) < 0);
    }

    [Fact]
    public void ProviderFreeThrowsForSeveralBlocks_EveryBlockIsStillOffered()
    {
        var provider = new SwitchableProvider { ThrowOnFree = true };
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 0, provider: provider);
        var arena = new Arena(pool);
        for (int i = 0; i < 3; i++)
        {
            arena.AllocateMemory(4000);
        }

        AggregateException thrown = Assert.Throws<AggregateException>(arena.Reset);

        Assert.Equal(3, thrown.InnerExceptions.Count);
        Assert.Equal(3, provider.FreeCalls);
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }

    // A cleanup that throws and then a provider that throws: both failures reach the caller, in one AggregateException.
    [Fact]
    public void Reset_CleanupAndProviderFreeThrow_BothFailuresReported()
    {
        var provider = new SwitchableProvider { ThrowOnFree = true };
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 0, provider: provider);
        var arena = new Arena(pool);
        arena.AllocateMemory(4000);
        arena.RegisterForCleanup(new ThrowingCleanup());

        AggregateException thrown = Assert.Throws<AggregateException>(arena.Reset);

        Assert.Collection(
            thrown.InnerExceptions,
            cleanup => Assert.IsType<InvalidOperationException>(cleanup),
            free => Assert.Equal("free failed", Assert.IsType<IOException>(free).Message));
        Assert.Equal(0, arena.SlabsInUse);
        Assert.Equal(1, provider.FreeCalls);
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }

    // The same once the release runs as optimised, tiered-up code: with an exception filter around the gate there, the
    // handler got a null provider exception and the AggregateException refused it. Only an optimised build shows it
    // (a Debug build's code is not optimised), so CI also runs this test in Release (Category=OptimizedCode). Bounded
    // by time: tiering up takes some thousands of releases.
    [Fact]
    [Trait("Category", "OptimizedCode")]
    public void Reset_CleanupAndProviderFreeThrowAfterManyReleases_EveryReleaseReportsBoth()
    {
        var provider = new SwitchableProvider();
        using var pool = TestPools.Create(slabSize: 4096, maxRetained: 0, provider: provider);
        var arena = new Arena(pool);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int both = 0;
        for (int i = 0; i < 150_000 && clock.Elapsed < TimeSpan.FromSeconds(3); i++)
        {
            arena.AllocateMemory(100);
            bool cleanupThrows = i % 2 == 0;
            provider.ThrowOnFree = i % 3 == 0;
            if (cleanupThrows)
            {
                arena.RegisterForCleanup(new ThrowingCleanup());
            }

            Exception? thrown = Record.Exception(arena.Reset);

            switch (cleanupThrows, provider.ThrowOnFree)
            {
                case (true, true):
                    var aggregate = Assert.IsType<AggregateException>(thrown);
                    Assert.Collection(aggregate.InnerExceptions, c => Assert.IsType<InvalidOperationException>(c), f => Assert.IsType<IOException>(f));
                    both++;
                    break;
                case (true, false):
                    Assert.IsType<InvalidOperationException>(Assert.Single(Assert.IsType<AggregateException>(thrown).InnerExceptions));
                    break;
                case (false, true):
                    Assert.IsType<IOException>(thrown);
                    break;
                default:
                    Assert.Null(thrown);
                    break;
            }
        }

        provider.ThrowOnFree = false;
        Assert.True(both > 1000, $"only {both} releases with both failures");
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }

    [Fact]
    public void Trim_ProviderFreeThrowsForSeveralBlocks_EveryIdleBlockIsOfferedAndCounted()
    {
        var provider = new SwitchableProvider();
        using var pool = TestPools.Create(slabSize: 4096, provider: provider);
        ReturnSlabs(pool, 3);
        Assert.Equal(3, pool.GetStatistics().PooledSlabs);
        provider.ThrowOnFree = true;

        AggregateException thrown = Assert.Throws<AggregateException>(pool.Trim);

        SlabPoolStatistics statistics = pool.GetStatistics();
        Assert.Equal(3, thrown.InnerExceptions.Count);
        Assert.Equal(3, provider.FreeCalls);
        Assert.Equal(0, statistics.PooledSlabs);
        Assert.Equal(3, statistics.ProviderFreeFailures);
    }

    [Fact]
    public void Dispose_ProviderFreeThrowsForOneBlock_ItsExceptionPassesThroughAndThePoolIsDisposed()
    {
        var provider = new SwitchableProvider();
        var pool = TestPools.Create(slabSize: 4096, provider: provider);
        ReturnSlabs(pool, 2);
        Assert.Equal(2, pool.GetStatistics().PooledSlabs);
        provider.ThrowOnFreeCall = 1;

        IOException thrown = Assert.Throws<IOException>(pool.Dispose);

        Assert.Equal("free failed", thrown.Message);
        Assert.Equal(2, provider.FreeCalls);
        Assert.Equal(0, pool.GetStatistics().PooledSlabs);
        Assert.Throws<ObjectDisposedException>(() => new Arena(pool).AllocateMemory(1));
        pool.Dispose();
    }

    // The pool's own timer trims idle pools; an exception out of a timer callback would end the process.
    [Fact]
    public void TrimTimer_ProviderFreeThrows_EveryIdleBlockIsOfferedAndTheFailuresAreCounted()
    {
        var provider = new SwitchableProvider { ThrowOnFree = true };
        using var pool = new SlabPool(new SlabPoolOptions { SlabSize = 4096, Provider = provider, TrimInterval = TimeSpan.FromMilliseconds(10) });
        ReturnSlabs(pool, 3);

        SlabPoolStatistics statistics = TestPools.WaitUntilNothingIsPooled(pool);
        Assert.Equal(0, statistics.PooledSlabs);
        Assert.Equal(3, provider.FreeCalls);
        Assert.Equal(3, statistics.ProviderFreeFailures);
    }

    // Returns `count` slabs to the pool (its timer, when it has one, may trim them at once).
    private static void ReturnSlabs(SlabPool pool, int count)
    {
        using var arena = new Arena(pool);
        for (int i = 0; i < count; i++)
        {
            arena.AllocateMemory(4000);
        }

        arena.Reset();
    }

    private sealed class ThrowingCleanup : IDisposable
    {
        public void Dispose() => throw new InvalidOperationException("cleanup failed");
    }

    [Fact]
    public void ArenaPoolReturn_ProviderFreeThrows_ArenaPooledWithThePoolsQuotaAndTheFailurePassesThrough()
    {
        var provider = new SwitchableProvider();
        using var slabs = TestPools.Create(slabSize: 4096, maxRetained: 0, provider: provider);
        var arenas = new ArenaPool(slabs, new ArenaOptions { MaxBytes = 100_000 });
        Arena arena = arenas.Rent();
        arena.MaxBytes = 0;
        Memory<byte> memory = arena.AllocateMemory(100);
        provider.ThrowOnFree = true;

        IOException thrown = Assert.Throws<IOException>(() => arenas.Return(arena));

        Assert.Equal("free failed", thrown.Message);
        Assert.Contains(nameof(SwitchableProvider.Free), thrown.StackTrace);
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
        Assert.Equal(0, slabs.GetStatistics().SlabsInUse);
        provider.ThrowOnFree = false;
        Arena again = arenas.Rent();
        Assert.Same(arena, again);
        Assert.Equal(100_000, again.MaxBytes);
        Assert.Equal(0, again.AllocatedBytes);
        arenas.Return(again);
        Assert.Throws<InvalidOperationException>(() => arenas.Return(again));
    }

    // An ObjectDisposedException of the provider's own is a failure of a release that ran, not the pool's sign of an
    // arena disposed under it: it passes through, and the arena is pooled.
    [Fact]
    public void ArenaPoolReturn_ProviderFreeThrowsObjectDisposed_TheFailurePassesThroughAndTheArenaIsPooled()
    {
        var provider = new SwitchableProvider();
        using var slabs = TestPools.Create(slabSize: 4096, maxRetained: 0, provider: provider);
        var arenas = new ArenaPool(slabs);
        Arena arena = arenas.Rent();
        arena.AllocateMemory(100);
        provider.FreeFailure = new ObjectDisposedException("provider", "provider gone");

        var thrown = Assert.Throws<ObjectDisposedException>(() => arenas.Return(arena));
        provider.FreeFailure = null;
        Arena again = arenas.Rent();

        Assert.Equal("provider", thrown.ObjectName);
        Assert.Same(arena, again);
        Assert.Equal(0, slabs.GetStatistics().SlabsInUse);
        arenas.Return(again);
    }

    private sealed class SwitchableProvider : ISlabProvider
    {
        public bool Refuse { get; set; }

        public string Name => "switchable";

        public SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block)
        {
            if (Refuse)
            {
                block = default;
                return SlabProviderStatus.Resources;
            }

            return PinnedArraySlabProvider.Instance.Allocate(length, alignment, out block);
        }

        public bool ThrowOnFree { get; set; }

        // Thrown by every Free when set, whatever its type.
        public Exception? FreeFailure { get; set; }

        public int FreeCalls { get; private set; }

        // Throw on this call only (1 for the first), or 0.
        public int ThrowOnFreeCall { get; set; }

        public void Free(in SlabBlock block)
        {
            FreeCalls++;
            PinnedArraySlabProvider.Instance.Free(block);
            if (FreeFailure is not null)
            {
                throw FreeFailure;
            }

            if (ThrowOnFree || FreeCalls == ThrowOnFreeCall)
            {
                throw new IOException("free failed");
            }
        }
    }
}
