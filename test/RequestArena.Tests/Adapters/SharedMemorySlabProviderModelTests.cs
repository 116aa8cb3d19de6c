using RequestArena.Adapters;
using Xunit.Abstractions;

namespace RequestArena.Tests.Adapters;

// Arenas on a pool whose slabs are memory-mapped shared blocks, with a budget on the mapped bytes: random
// allocations (slab-sized and oversize), resets, trims and reads through the block's named mapping (as another
// process reads), checked after every step against a plain model: what each live allocation holds, that the pool's
// view of the provider (bytes taken minus bytes given back) is the provider's own, that the budget holds and is the
// only reason an allocation fails, and that everything is unmapped at the end.
public sealed class SharedMemorySlabProviderModelTests(ITestOutputHelper output)
{
    private const int Steps = 150;

    public static TheoryData<int> Seeds() => AdapterModelSeeds.Get(20);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomOperations_MatchTheModel(int seed)
    {
        var random = new Random(seed);
        int slabSize = 4096 << random.Next(0, 2);
        long budget = random.Next(3) == 0 ? 0 : slabSize * random.Next(4, 24);
        string prefix = $"model{seed}x{Environment.ProcessId}";
        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = prefix, MaxBytes = budget });
        var adapter = new SharedMemorySlabProvider(provider);
        var pool = TestPools.Create(slabSize: slabSize, maxRetained: slabSize * random.Next(0, 6), provider: adapter);
        Arena[] arenas = [new Arena(pool), new Arena(pool)];
        var live = new List<(Memory<byte> Memory, byte Fill, int Arena)>();
        var dead = new List<Memory<byte>>();
        int failures = 0;
        string step = "start";

        try
        {
            for (int i = 0; i < Steps; i++)
            {
                int op = random.Next(100);
                int a = random.Next(arenas.Length);
                if (op < 60)
                {
                    int size = random.Next(10) switch
                    {
                        < 6 => random.Next(1, 1_000),
                        < 9 => random.Next(1_000, slabSize),
                        _ => random.Next(slabSize + 1, slabSize * 3),
                    };
                    step = $"step {i}: arena {a} AllocateMemory({size})";
                    long allocatedBefore = arenas[a].AllocatedBytes;
                    long mappedBefore = provider.BytesInUse;
                    Memory<byte> memory;
                    try
                    {
                        memory = arenas[a].AllocateMemory(size);
                    }
                    catch (InsufficientMemoryException)
                    {
                        // Only the budget may refuse, and only when the block the pool had to map did not fit in it: a
                        // whole slab, or for an allocation too large for one, a block of exactly its aligned size (a cap
                        // of at most five slabs leaves the pool no oversize size classes).
                        failures++;
                        int aligned = (size + 7) & ~7;
                        long block = aligned + 7 <= slabSize ? slabSize : aligned;
                        Assert.True(budget > 0, "refused without a budget");
                        Assert.True(mappedBefore + block > budget, $"refused {size} bytes (a {block}-byte block) with {budget - mappedBefore} of the budget left");
                        Assert.Equal(allocatedBefore, arenas[a].AllocatedBytes);
                        continue;
                    }

                    Assert.Equal(size, memory.Length);
                    Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0, "a new allocation was not zeroed");
                    byte fill = (byte)random.Next(1, 256);
                    memory.Span.Fill(fill);
                    live.Add((memory, fill, a));

                    // Another process finds it by the block's name and offset and reads what was written.
                    Assert.True(adapter.TryLocate(memory, out SharedMemoryHandle? handle, out long offset), "an allocation outside every live block");
                    if (random.Next(4) == 0)
                    {
                        using SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(handle!.Name, provider.Directory);
                        Assert.True(mapping.GetSpan(offset, size).IndexOfAnyExcept(fill) < 0, "the named mapping does not show what was written");
                    }
                }
                else if (op < 80)
                {
                    step = $"step {i}: arena {a} Reset()";
                    arenas[a].Reset();
                    dead.AddRange(live.Where(l => l.Arena == a).Select(l => l.Memory));
                    live.RemoveAll(l => l.Arena == a);
                }
                else if (op < 90)
                {
                    step = $"step {i}: pool Trim()";
                    pool.Trim();
                    Assert.Equal(0, pool.GetStatistics().PooledBytes);
                }
                else if (dead.Count > 0)
                {
                    Memory<byte> memory = dead[random.Next(dead.Count)];
                    step = $"step {i}: TryLocate(released memory)";
                    Assert.Throws<ObjectDisposedException>(() => adapter.TryLocate(memory, out _, out _));
                }

                SlabPoolStatistics stats = pool.GetStatistics();
                Assert.Equal(stats.ProviderAllocatedBytes - stats.ProviderFreedBytes, provider.BytesInUse);
                Assert.Equal(provider.BlocksInUse, adapter.GetBlocks().Length);
                Assert.True(budget == 0 || provider.BytesInUse <= budget, $"{provider.BytesInUse} bytes mapped over a budget of {budget}");
                foreach ((Memory<byte> memory, byte fill, _) in live)
                {
                    Assert.True(memory.Span.IndexOfAnyExcept(fill) < 0, "a live allocation was overwritten");
                }
            }

            step = "Dispose()";
            foreach (Arena arena in arenas)
            {
                arena.Dispose();
            }

            pool.Dispose();
            Assert.Equal(0, provider.BytesInUse);
            Assert.Equal(0, provider.BlocksInUse);
            if (provider.Directory is { } directory)
            {
                Assert.Empty(Directory.GetFiles(directory, prefix + "*"));
            }

            output.WriteLine($"seed {seed}: slab {slabSize} B, budget {budget} B, {live.Count + dead.Count} allocations, {failures} refused by the budget, {pool.GetStatistics().ProviderAllocatedBytes} B mapped in all");
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException || !ex.Message.StartsWith("seed ", StringComparison.Ordinal))
        {
            output.WriteLine(AdapterModelSeeds.Replay(seed, step));
            throw new Xunit.Sdk.XunitException($"{AdapterModelSeeds.Replay(seed, step)}: {ex.Message}");
        }
        finally
        {
            foreach (Arena arena in arenas)
            {
                arena.Dispose();
            }

            pool.Dispose();
        }
    }
}
