using Xunit.Abstractions;

namespace RequestArena.Tests.Reliability;

// Random sequences of arena operations checked against a plain reference model after every step. Seeded: a failure
// names its seed and step, and `ARENA_MODEL_SEED=<seed>` replays just that sequence.
public class ArenaModelTests(ITestOutputHelper output)
{
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
                    step = $"step {i}: {(useTry ? "TryAllocateMemory" : "AllocateMemory")}({size})";
                    bool overQuota = size > 0 && quota > 0 && allocated + size > quota;
                    if (size < 0)
                    {
                        Assert.Throws<ArgumentOutOfRangeException>(() => arena.AllocateMemory(size));
                    }
                    else if (overQuota && useTry)
                    {
                        Assert.False(arena.TryAllocateMemory(size, out Memory<byte> refused));
                        Assert.True(refused.IsEmpty);
                    }
                    else if (overQuota)
                    {
                        var ex = Assert.Throws<ArenaLimitExceededException>(() => arena.AllocateMemory(size));
                        Assert.Equal(allocated, ex.Allocated);
                    }
                    else if (size == int.MaxValue)
                    {
                        Assert.Throws<ArgumentOutOfRangeException>(() => arena.AllocateMemory(size));
                    }
                    else
                    {
                        Memory<byte> memory;
                        if (useTry)
                        {
                            Assert.True(arena.TryAllocateMemory(size, out memory));
                        }
                        else
                        {
                            memory = arena.AllocateMemory(size);
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
                        Span<long> span = arena.Allocate<long>(count);
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
