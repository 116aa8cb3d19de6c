namespace RequestArena.Tests.Reliability;

// Whatever identifies a thread on the fast path must stay exact as threads of any stack size come and go: a thread with
// a large stack that allocated and exited leaves a stack range that several later, smaller threads are mapped into.
public class ArenaThreadIdentityTests
{
    private const int LaterThreads = 14;
    private const int PerThread = 20_000;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DeadLargeStackOwner_LaterThreadsOfMixedStacks_NeverShareAChunk(bool resetInBetween)
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);

        // The large-stack thread takes a chunk with room left and exits mid-cycle.
        var big = new Thread(() => arena.AllocateMemory(16).Span.Fill(0xEE), maxStackSize: 64 * 1024 * 1024);
        big.Start();
        big.Join();
        if (resetInBetween)
        {
            // A pooled arena reused across Reset keeps its chunk list; the dead thread's chunk must not come back.
            arena.Reset();
            var again = new Thread(() => arena.AllocateMemory(16), maxStackSize: 64 * 1024 * 1024);
            again.Start();
            again.Join();
        }

        AssertNoOverlap(arena, LaterThreads, i => i % 3 == 0 ? 256 * 1024 : i % 3 == 1 ? 0 : 1024 * 1024);
    }

    [Fact]
    public async Task ThreadPoolAndDedicatedThreads_Interleaved_NeverShareAChunk()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        var blocks = new Memory<byte>[2][];
        using var start = new Barrier(2);
        Task onPool = Task.Run(() => Fill(arena, blocks, 0, start));
        var dedicated = new Thread(() => Fill(arena, blocks, 1, start), maxStackSize: 128 * 1024);
        dedicated.Start();
        await onPool;
        dedicated.Join();
        AssertIntact(blocks);
    }

    [Fact]
    public void ResetRacingAllocation_AfterThreadsStop_CountsNothingAndGrantsTheWholeQuota()
    {
        const long quota = 1 << 20;
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = quota });
        var deadline = DateTime.UtcNow.AddSeconds(3);
        int trials = 0;
        while (trials < 400 && DateTime.UtcNow < deadline)
        {
            trials++;
            using var stop = new ManualResetEventSlim();
            using var started = new ManualResetEventSlim();
            var allocator = new Thread(() =>
            {
                started.Set();
                while (!stop.IsSet)
                {
                    // A refusal here is the quota, not an error: the reset below gives the budget back.
                    arena.TryAllocateMemory(64, out _);
                }
            });
            allocator.Start();
            started.Wait();
            Thread.SpinWait(trials % 50 * 20);
            arena.Reset();
            stop.Set();
            allocator.Join();

            arena.Reset();
            Assert.Equal(0, arena.AllocatedBytes);
        }

        // Whatever a racing thread stored after a reset, none of it is charged now.
        Assert.True(arena.TryAllocateMemory((int)quota, out Memory<byte> all));
        Assert.Equal(quota, all.Length);
        Assert.Equal(quota, arena.AllocatedBytes);
    }

    [Fact]
    public void AllocateWithCycle_AfterReset_ThrowsAndChargesNothing()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        long cycle = arena.Cycle;
        Memory<byte> before = arena.AllocateMemory(32, cycle);
        arena.Reset();

        Assert.NotEqual(cycle, arena.Cycle);
        Assert.Throws<ObjectDisposedException>(() => arena.AllocateMemory(32, cycle));
        Assert.Throws<ObjectDisposedException>(() => before.Span.Length);
        Assert.Equal(0, arena.AllocatedBytes);
        Assert.Equal(32, arena.AllocateMemory(32, arena.Cycle).Length);
    }

    [Fact]
    public void AllocateWithCycle_OfAnotherArena_Throws()
    {
        using var pool = TestPools.Create();
        using var first = new Arena(pool);
        using var second = new Arena(pool);

        // Cycle ids are process-wide, so a handle that read one arena's cycle cannot pass another arena's check.
        Assert.NotEqual(first.Cycle, second.Cycle);
        Assert.Throws<ObjectDisposedException>(() => second.AllocateMemory(32, first.Cycle));
    }

    private static void AssertNoOverlap(Arena arena, int threads, Func<int, int> stackSize)
    {
        var blocks = new Memory<byte>[threads][];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads)
            .Select(t => new Thread(() => Fill(arena, blocks, t, start), stackSize(t)))
            .ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        AssertIntact(blocks);
    }

    private static void Fill(Arena arena, Memory<byte>[][] blocks, int t, Barrier start)
    {
        var mine = blocks[t] = new Memory<byte>[PerThread];
        start.SignalAndWait();
        for (int i = 0; i < PerThread; i++)
        {
            Memory<byte> memory = arena.AllocateMemory(16);
            memory.Span.Fill((byte)(t + 1));
            mine[i] = memory;
        }
    }

    private static void AssertIntact(Memory<byte>[][] blocks)
    {
        for (int t = 0; t < blocks.Length; t++)
        {
            int overwritten = blocks[t].Count(m => m.Span.IndexOfAnyExcept((byte)(t + 1)) >= 0);
            Assert.True(overwritten == 0, $"thread {t}: {overwritten} of {blocks[t].Length} allocations overwritten by another thread");
        }
    }
}
