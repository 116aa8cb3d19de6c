namespace RequestArena.Tests;

public sealed class ArenaCursorTests : IDisposable
{
    private readonly SlabPool _pool = TestPools.Create();

    public void Dispose() => _pool.Dispose();

    [Fact]
    public void AllocateMemory_ManyBlocks_ExactZeroedAndDisjoint()
    {
        using var arena = new Arena(_pool);
        ArenaCursor cursor = arena.CreateCursor();
        var blocks = new Memory<byte>[5000];
        for (int i = 0; i < blocks.Length; i++)
        {
            // Sizes that are not multiples of the alignment, and enough of them to move through several slabs.
            blocks[i] = cursor.AllocateMemory(1 + i % 61);
            Assert.Equal(1 + i % 61, blocks[i].Length);
            Assert.True(blocks[i].Span.IndexOfAnyExcept((byte)0) < 0);
            blocks[i].Span.Fill((byte)(i % 251 + 1));
        }

        for (int i = 0; i < blocks.Length; i++)
        {
            Assert.True(blocks[i].Span.IndexOfAnyExcept((byte)(i % 251 + 1)) < 0, $"block {i} was overwritten");
        }

        Assert.Equal(blocks.Sum(b => (long)b.Length), arena.AllocatedBytes);
        Assert.True(arena.SlabsRented > 1);
    }

    [Fact]
    public void AllocateMemory_MixedWithTheArenasOwnCalls_CountsEveryByteOnce()
    {
        using var arena = new Arena(_pool);
        arena.AllocateMemory(10);
        ArenaCursor cursor = arena.CreateCursor();
        cursor.AllocateMemory(20);
        arena.AllocateMemory(30);
        cursor.AllocateMemory(40);

        Assert.Equal(100, arena.AllocatedBytes);
    }

    // The cursor keeps the thread's chunk; the arena's own calls on the same thread move that chunk's state behind its
    // back, across regions and slabs. A seeded random mix: every block exact, zeroed, disjoint, counted once.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void AllocateMemory_RandomlyMixedWithTheArenasOwnCalls_ExactZeroedDisjointAndCountedOnce(int seed)
    {
        var random = new Random(seed);
        using var arena = new Arena(_pool, new ArenaOptions { MaxBytes = 64L * _pool.SlabSize });
        ArenaCursor cursor = arena.CreateCursor();
        var blocks = new List<Memory<byte>>();
        long asked = 0;
        for (int i = 0; i < 20_000; i++)
        {
            // Mostly small, now and then a block that forces a new region or an oversize block.
            int size = random.Next(10) == 0 ? random.Next(1, 2 * _pool.SlabSize / 3) : random.Next(1, 200);
            if (asked + size > 32L * _pool.SlabSize)
            {
                break;
            }

            Memory<byte> block = random.Next(3) == 0 ? arena.AllocateMemory(size) : cursor.AllocateMemory(size);
            Assert.Equal(size, block.Length);
            Assert.True(block.Span.IndexOfAnyExcept((byte)0) < 0, $"block {i} was not zeroed");
            block.Span.Fill((byte)(blocks.Count % 251 + 1));
            blocks.Add(block);
            asked += size;
        }

        for (int i = 0; i < blocks.Count; i++)
        {
            Assert.True(blocks[i].Span.IndexOfAnyExcept((byte)(i % 251 + 1)) < 0, $"block {i} was overwritten");
        }

        Assert.Equal(asked, arena.AllocatedBytes);
    }

    // A thread's first cursor on an arena it never used: nothing is rented or charged until the first allocation.
    [Fact]
    public void CreateCursor_ThreadNeverAllocated_RentsNothingUntilTheFirstAllocation()
    {
        using var arena = new Arena(_pool);
        ArenaCursor cursor = arena.CreateCursor();

        Assert.Equal(0, arena.SlabsRented);
        Assert.Equal(0, arena.HeldBytes);
        Assert.Equal(16, cursor.AllocateMemory(16).Length);
        Assert.Equal(16, arena.AllocatedBytes);
    }

    [Fact]
    public void AllocateMemory_LargerThanASlab_IsServed()
    {
        using var arena = new Arena(_pool);
        ArenaCursor cursor = arena.CreateCursor();

        Memory<byte> large = cursor.AllocateMemory(_pool.SlabSize * 3);

        Assert.Equal(_pool.SlabSize * 3, large.Length);
        Assert.True(large.Span.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void AllocateMemory_Zero_ReturnsEmpty()
    {
        using var arena = new Arena(_pool);
        ArenaCursor cursor = arena.CreateCursor();

        Assert.True(cursor.AllocateMemory(0).IsEmpty);
        Assert.Equal(0, arena.AllocatedBytes);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void AllocateMemory_Negative_ThrowsAndLeavesTheCursorUsable(int size)
    {
        using var arena = new Arena(_pool);
        ArenaCursor cursor = arena.CreateCursor();
        cursor.AllocateMemory(8);

        CursorAssert.Throws<ArgumentOutOfRangeException>(ref cursor, size);

        Assert.Equal(16, cursor.AllocateMemory(16).Length);
        Assert.Equal(24, arena.AllocatedBytes);
    }

    [Fact]
    public void AllocateMemory_OverQuota_ThrowsAndLeavesTheCursorUsable()
    {
        using var arena = new Arena(_pool, new ArenaOptions { MaxBytes = 1000 });
        ArenaCursor cursor = arena.CreateCursor();
        cursor.AllocateMemory(600);

        ArenaLimitExceededException ex = CursorAssert.Throws<ArenaLimitExceededException>(ref cursor, 600);
        Assert.Equal(1000, ex.Limit);

        Assert.Equal(400, cursor.AllocateMemory(400).Length);
        Assert.Equal(1000, arena.AllocatedBytes);
    }

    // The hazard a cursor must not fall into: after a reset the same thread carves its chunk again for the arena's next
    // cycle, and a cursor of the old cycle still holds that chunk object.
    [Fact]
    public void AllocateMemory_AfterReset_ThrowsEvenWhenTheThreadAllocatedInTheNewCycle()
    {
        using var arena = new Arena(_pool);
        ArenaCursor cursor = arena.CreateCursor();
        Memory<byte> before = cursor.AllocateMemory(32);
        arena.Reset();
        Memory<byte> next = arena.AllocateMemory(32);

        CursorAssert.Throws<ObjectDisposedException>(ref cursor, 32);

        Assert.Equal(32, arena.AllocatedBytes);
        Assert.Equal(32, next.Length);
        Assert.Throws<ObjectDisposedException>(() => before.Span.Length);
    }

    [Fact]
    public void AllocateMemory_AfterDispose_Throws()
    {
        var arena = new Arena(_pool);
        ArenaCursor cursor = arena.CreateCursor();
        cursor.AllocateMemory(32);
        arena.Dispose();

        CursorAssert.Throws<ObjectDisposedException>(ref cursor, 32);

        Assert.Throws<ObjectDisposedException>(() => arena.CreateCursor());
    }

    [Fact]
    public void AllocateMemory_CycleOfAnotherArena_Throws()
    {
        using var first = new Arena(_pool);
        using var second = new Arena(_pool);
        ArenaCursor cursor = second.CreateCursor(first.Cycle);

        CursorAssert.Throws<ObjectDisposedException>(ref cursor, 32);

        Assert.Equal(0, second.AllocatedBytes);
    }

    [Fact]
    public void AllocateMemory_Default_ThrowsInvalidOperation()
    {
        ArenaCursor cursor = default;

        InvalidOperationException ex = CursorAssert.Throws<InvalidOperationException>(ref cursor, 32);
        Assert.Contains("CreateCursor", ex.Message);
    }

    // Cursors on several threads at once, each on its own thread's chunk: no byte is handed out twice.
    [Fact]
    public void AllocateMemory_CursorsOnManyThreads_NeverOverlap()
    {
        const int Threads = 4;
        const int PerThread = 20_000;
        using var arena = new Arena(_pool);
        var blocks = new Memory<byte>[Threads][];
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var mine = new Memory<byte>[PerThread];
            start.SignalAndWait();
            ArenaCursor cursor = arena.CreateCursor();
            for (int i = 0; i < PerThread; i++)
            {
                mine[i] = cursor.AllocateMemory(24);
                mine[i].Span.Fill((byte)(t + 1));
            }

            blocks[t] = mine;
        }, maxStackSize: t % 2 == 0 ? 256 * 1024 : 0)).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int t = 0; t < Threads; t++)
        {
            Assert.All(blocks[t], b => Assert.True(b.Span.IndexOfAnyExcept((byte)(t + 1)) < 0, $"a block of thread {t} was overwritten"));
        }

        Assert.Equal((long)Threads * PerThread * 24, arena.AllocatedBytes);
    }

    // A reset on another thread racing a cursor: the cursor stops with ObjectDisposedException, and nothing it did is
    // charged to the arena's next cycle.
    [Fact]
    public void Reset_RacingACursorOnAnotherThread_CursorStopsAndTheNextCycleStartsEmpty()
    {
        const long Quota = 1 << 20;
        using var arena = new Arena(_pool, new ArenaOptions { MaxBytes = Quota });
        var deadline = DateTime.UtcNow.AddSeconds(3);
        int trials = 0;
        while (trials < 300 && DateTime.UtcNow < deadline)
        {
            trials++;
            using var started = new ManualResetEventSlim();
            Exception? ending = null;
            var allocator = new Thread(() =>
            {
                ArenaCursor cursor = arena.CreateCursor();
                started.Set();
                try
                {
                    while (true)
                    {
                        try
                        {
                            cursor.AllocateMemory(64);
                        }
                        catch (ArenaLimitExceededException)
                        {
                            // The quota, not the end: only the reset below ends this loop.
                        }
                    }
                }
                catch (Exception ex)
                {
                    ending = ex;
                }
            });
            allocator.Start();
            started.Wait();
            Thread.SpinWait(trials % 50 * 20);
            arena.Reset();
            Assert.True(allocator.Join(TimeSpan.FromSeconds(10)), $"trial {trials}: the cursor went on allocating after the reset");

            Assert.IsType<ObjectDisposedException>(ending);
            Assert.Equal(0, arena.AllocatedBytes);
        }

        Assert.True(arena.TryAllocateMemory((int)Quota, out Memory<byte> all));
        Assert.Equal(Quota, all.Length);
    }
}
