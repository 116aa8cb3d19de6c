namespace RequestArena.Tests.Reliability;

public class ArenaStressTests
{
    [Fact]
    public void EightThreads_OneMillionAllocations_NoOverlap()
    {
        const int threads = 8;
        const int perThread = 125_000;
        using var slabs = TestPools.Create();
        using var arena = new Arena(slabs);
        var blocks = new Memory<byte>[threads][];
        using var start = new Barrier(threads);

        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var mine = blocks[t] = new Memory<byte>[perThread];
            var random = new Random(t);
            start.SignalAndWait();
            for (int i = 0; i < perThread; i++)
            {
                Memory<byte> memory = arena.AllocateMemory(random.Next(1, 48));
                memory.Span.Fill((byte)(t * 31 + i));
                mine[i] = memory;
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        for (int t = 0; t < threads; t++)
        {
            for (int i = 0; i < perThread; i++)
            {
                Assert.True(blocks[t][i].Span.IndexOfAnyExcept((byte)(t * 31 + i)) < 0, $"thread {t} allocation {i} was overwritten");
            }
        }

        arena.Reset();
        Assert.Equal(0, slabs.GetStatistics().SlabsInUse);
    }

    [Fact]
    public void ConcurrentThreadsWithQuota_NeverOverlapAndStayNearTheLimit()
    {
        const long quota = 2_000_000;
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { MaxBytes = quota });
        long granted = 0;

        Parallel.For(0, 8, _ =>
        {
            while (arena.TryAllocateMemory(100, out Memory<byte> memory))
            {
                memory.Span.Fill(1);
                Interlocked.Add(ref granted, 100);
            }
        });

        // Sequentially exact; under true parallelism a refusal races at most the allocations in flight.
        Assert.InRange(granted, quota - 8 * 100, quota + 8 * 100);
        Assert.Equal(granted, arena.AllocatedBytes);
    }
}
