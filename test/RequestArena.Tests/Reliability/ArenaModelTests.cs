using Xunit.Abstractions;

namespace RequestArena.Tests.Reliability;

// Random sequences of arena operations checked against a plain reference model after every step. Seeded: a failure
// names its seed and step, and `ARENA_MODEL_SEED=<seed>` replays just that sequence.
public class ArenaModelTests(ITestOutputHelper output)
{
    // Where an allocation step runs: mostly the test's own thread, sometimes a thread of its own that exits right after,
    // with a stack of one of several sizes (a large one that dies leaves a range later, smaller threads are mapped into).
    private static readonly int[] ThreadStacks = [-1, -1, -1, -1, -1, -1, 0, 256 * 1024, 16 * 1024 * 1024, 64 * 1024 * 1024];

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        if (int.TryParse(Environment.GetEnvironmentVariable("ARENA_MODEL_SEED"), out int only))
        {
            data.Add(only);
            return data;
        }

        for (int seed = 1; seed <= 40; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    // Runs `work` on the calling thread (stack < 0) or on a new thread with that stack size, rethrowing what it threw.
    private static T OnThread<T>(int stack, Func<T> work)
    {
        if (stack < 0)
        {
            return work();
        }

        T result = default!;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        var thread = new Thread(
            () =>
            {
                try
                {
                    result = work();
                }
                catch (Exception ex)
                {
                    failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex);
                }
            },
            stack);
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomOperations_MatchTheModel(int seed)
    {
        var random = new Random(seed);
        int alignment = 1 << random.Next(0, 8);
        long quota = random.Next(3) == 0 ? 0 : random.Next(1, 300_000);
        bool zero = random.Next(4) != 0;
        using var pool = TestPools.Create(slabSize: 4096 << random.Next(0, 4));
        using var arena = new Arena(pool, new ArenaOptions { Alignment = alignment, MaxBytes = quota, ZeroMemory = zero });

        var live = new List<(Memory<byte> Memory, byte Fill)>();
        var dead = new List<Memory<byte>>();
        var cleanups = new List<int>();
        var ran = new List<int>();
        long allocated = 0;
        string step = "";

        // The test's thread also allocates through a cursor now and then, mixed with its other calls; a reset ends it.
        ArenaCursor cursor = arena.CreateCursor();

        try
        {
            for (int i = 0; i < 400; i++)
            {
                int op = random.Next(100);
                if (op < 70)
                {
                    int size = random.Next(10) switch
                    {
                        0 => 0,
                        1 => -random.Next(1, 1000),
                        2 => random.Next(5_000, 70_000),
                        3 => int.MaxValue,
                        _ => random.Next(1, 300),
                    };
                    bool useTry = random.Next(2) == 0;
                    int stack = ThreadStacks[random.Next(ThreadStacks.Length)];
                    bool viaCursor = !useTry && stack < 0 && random.Next(3) == 0;
                    step = $"step {i}: {(useTry ? "TryAllocateMemory" : viaCursor ? "cursor.AllocateMemory" : "AllocateMemory")}({size}) on {(stack < 0 ? "the test's thread" : $"a new thread, stack {stack}")}";
                    bool overQuota = size > 0 && quota > 0 && allocated + size > quota;
                    if (size < 0)
                    {
                        Assert.Throws<ArgumentOutOfRangeException>(() => OnThread(stack, () => arena.AllocateMemory(size)));
                    }
                    else if (overQuota && useTry)
                    {
                        (bool granted, Memory<byte> refused) = OnThread(stack, () => (arena.TryAllocateMemory(size, out Memory<byte> m), m));
                        Assert.False(granted);
                        Assert.True(refused.IsEmpty);
                    }
                    else if (overQuota)
                    {
                        var ex = Assert.Throws<ArenaLimitExceededException>(() => OnThread(stack, () => arena.AllocateMemory(size)));
                        Assert.Equal(allocated, ex.Allocated);
                    }
                    else if (size == int.MaxValue)
                    {
                        Assert.Throws<ArgumentOutOfRangeException>(() => OnThread(stack, () => arena.AllocateMemory(size)));
                    }
                    else
                    {
                        // The quota also bounds the memory held to twice its value (a lowered quota, or regions of
                        // several threads, can leave little room): a refusal is right only when the allocation would
                        // not have fit in what the bound leaves.
                        bool HeldBoundRefuses(long held) => quota > 0 && held + size + alignment > 2 * quota;
                        Memory<byte> memory;
                        if (useTry)
                        {
                            (bool granted, memory) = OnThread(stack, () => (arena.TryAllocateMemory(size, out Memory<byte> m), m));
                            if (!granted)
                            {
                                Assert.True(HeldBoundRefuses(arena.HeldBytes), $"refused with {arena.HeldBytes} bytes held under a quota of {quota}");
                                continue;
                            }
                        }
                        else
                        {
                            try
                            {
                                memory = viaCursor ? cursor.AllocateMemory(size) : OnThread(stack, () => arena.AllocateMemory(size));
                            }
                            catch (ArenaLimitExceededException ex) when (ex.Held > 0)
                            {
                                Assert.True(HeldBoundRefuses(ex.Held), ex.Message);
                                continue;
                            }
                        }

                        Assert.Equal(size, memory.Length);
                        if (size > 0)
                        {
                            Assert.Equal(0, TestPools.AddressOf(memory) % alignment);
                            if (zero)
                            {
                                Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0, "handed-out memory was not zero");
                            }

                            byte fill = (byte)random.Next(1, 256);
                            memory.Span.Fill(fill);
                            live.Add((memory, fill));
                        }

                        allocated += size;
                    }
                }
                else if (op < 78)
                {
                    step = $"step {i}: Reset()";
                    arena.Reset();

                    // The cursor belonged to the cycle that just ended: refused, nothing charged to the new one.
                    CursorAssert.Throws<ObjectDisposedException>(ref cursor, 1 + random.Next(100));
                    Assert.Equal(0, arena.AllocatedBytes);
                    cursor = arena.CreateCursor();
                    cleanups.Reverse();
                    Assert.Equal(cleanups, ran);
                    foreach ((Memory<byte> memory, _) in live)
                    {
                        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
                    }

                    dead.AddRange(live.Select(l => l.Memory));
                    live.Clear();
                    allocated = 0;
                    cleanups.Clear();
                    ran.Clear();
                }
                else if (op < 86)
                {
                    int id = i;
                    step = $"step {i}: RegisterForCleanup({id})";
                    cleanups.Add(id);
                    arena.RegisterForCleanup(new Recorder(ran, id));
                }
                else if (op < 92)
                {
                    int count = random.Next(0, 200);
                    step = $"step {i}: Allocate<long>({count})";
                    if (quota > 0 && allocated + count * 8L > quota && count > 0)
                    {
                        Assert.Throws<ArenaLimitExceededException>(() => arena.Allocate<long>(count));
                    }
                    else
                    {
                        Span<long> span;
                        try
                        {
                            span = arena.Allocate<long>(count);
                        }
                        catch (ArenaLimitExceededException ex) when (ex.Held > 0)
                        {
                            // The bound on memory held, as for AllocateMemory above.
                            Assert.True(quota > 0 && ex.Held + count * 8L + Math.Max(alignment, 8) > 2 * quota, ex.Message);
                            continue;
                        }

                        Assert.Equal(count, span.Length);
                        if (zero)
                        {
                            Assert.True(span.IndexOfAnyExcept(0L) < 0);
                        }

                        span.Fill(-1);
                        allocated += count * 8L;
                    }
                }
                else
                {
                    long newQuota = random.Next(2) == 0 ? 0 : allocated + random.Next(0, 100_000);
                    step = $"step {i}: MaxBytes = {newQuota}";
                    arena.MaxBytes = newQuota;
                    quota = newQuota;
                }

                Assert.Equal(allocated, arena.AllocatedBytes);
                foreach ((Memory<byte> memory, byte fill) in live)
                {
                    Assert.True(memory.Span.IndexOfAnyExcept(fill) < 0, "a live allocation was overwritten");
                }

                // Every dead block was checked when it died; re-check a few each step, since their slabs move on.
                for (int d = 0; d < Math.Min(3, dead.Count); d++)
                {
                    Memory<byte> memory = dead[random.Next(dead.Count)];
                    Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
                }
            }

            step = "Dispose()";
            arena.Dispose();
            Assert.Equal(0, pool.GetStatistics().SlabsInUse);
            Assert.Equal(0, pool.GetStatistics().OversizeInUse);
        }
        catch (Exception ex)
        {
            output.WriteLine($"seed {seed} failed at {step}; replay with ARENA_MODEL_SEED={seed}");
            throw new Xunit.Sdk.XunitException($"seed {seed}, {step}: {ex.Message}");
        }
    }

    private sealed class Recorder(List<int> ran, int id) : IDisposable
    {
        public void Dispose() => ran.Add(id);
    }
}
