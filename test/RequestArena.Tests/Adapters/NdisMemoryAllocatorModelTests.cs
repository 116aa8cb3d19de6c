using RequestArena.Adapters;
using Xunit.Abstractions;

namespace RequestArena.Tests.Adapters;

// Random sequences of NDIS operations (arena, non-cached and contiguous allocations with and without an address
// limit, invalid arguments, frees with right and wrong flags, double, sliced and foreign frees, allocation in blocks,
// quota changes, the request ending and a new one starting on the same arena) checked after every step against a
// plain model: which blocks are live and what they hold, arena and native bytes, and the status every call must
// return. The quota rule modelled is the documented one: arena and native blocks together stay within the arena's
// MaxBytes, native blocks within MaxNativeBytes.
public sealed class NdisMemoryAllocatorModelTests(ITestOutputHelper output)
{
    private const int Steps = 250;

    public static TheoryData<int> Seeds() => AdapterModelSeeds.Get(30);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomOperations_MatchTheModel(int seed)
    {
        var random = new Random(seed);
        long quota = random.Next(3) == 0 ? 0 : random.Next(10_000, 300_000);
        var options = new NdisMemoryAllocatorOptions
        {
            MaxContiguousLength = random.Next(4_096, 65_536),
            MaxNativeBytes = random.Next(2) == 0 ? 0 : random.Next(5_000, 100_000),
        };
        using var pool = TestPools.Create(slabSize: 4096 << random.Next(0, 3));
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = quota });
        using var otherArena = new Arena(pool);
        var other = new NdisMemoryAllocator(otherArena);
        Assert.Equal(SlabProviderStatus.Success, other.AllocateMemory(out Memory<byte> foreign, 64, NdisMemoryFlags.None));

        var ndis = new NdisMemoryAllocator(arena, options);
        var live = new List<Block>();
        var stale = new List<Block>();       // freed, or from a request that has ended
        var dead = new List<Memory<byte>>(); // memory that must throw: freed native blocks, blocks of an ended request
        long arenaBytes = 0;
        long nativeBytes = 0;
        bool ended = false;
        string step = "start";

        try
        {
            for (int i = 0; i < Steps; i++)
            {
                int op = random.Next(100);
                if (op < 45)
                {
                    int length = random.Next(12) switch
                    {
                        0 => 0,
                        1 => -random.Next(1, 100),
                        < 8 => random.Next(1, 5_000),
                        _ => random.Next(5_000, 70_000),
                    };
                    NdisMemoryFlags flags = random.Next(10) switch
                    {
                        < 5 => NdisMemoryFlags.None,
                        < 7 => NdisMemoryFlags.NonCached,
                        < 9 => NdisMemoryFlags.Contiguous,
                        _ => random.Next(2) == 0 ? NdisMemoryFlags.Contiguous | NdisMemoryFlags.NonCached : (NdisMemoryFlags)0x4,
                    };
                    long highest = random.Next(10) switch
                    {
                        0 => -2,
                        1 => 0,
                        2 => long.MaxValue,
                        _ => NdisMemoryAllocator.AnyAddress,
                    };
                    step = $"step {i}: AllocateMemory({length}, {flags}, {highest})";
                    long heldBefore = ended ? 0 : arena.HeldBytes;
                    SlabProviderStatus status = ndis.AllocateMemory(out Memory<byte> memory, length, flags, highest);

                    bool native = flags != NdisMemoryFlags.None || highest != NdisMemoryAllocator.AnyAddress;
                    bool ok = length > 0 && ((int)flags & ~3) == 0 && highest >= NdisMemoryAllocator.AnyAddress && !ended;
                    if (ok && native)
                    {
                        ok = !((flags & NdisMemoryFlags.Contiguous) != 0 && length > options.MaxContiguousLength)
                            && !(options.MaxNativeBytes > 0 && nativeBytes + length > options.MaxNativeBytes)
                            && highest != 0;
                    }

                    ok &= quota == 0 || arenaBytes + nativeBytes + length <= quota;

                    // The quota also bounds the memory held (slabs, padding, unused tails and native blocks) to twice
                    // its value: near that bound a block that fits the bytes counted may still be refused.
                    if (ok && status == SlabProviderStatus.Failure && quota > 0 && heldBefore + length + pool.SlabSize > 2 * quota)
                    {
                        Assert.True(memory.IsEmpty, "a failed call returned memory");
                        continue;
                    }

                    Assert.Equal(ok ? SlabProviderStatus.Success : SlabProviderStatus.Failure, status);
                    if (!ok)
                    {
                        Assert.True(memory.IsEmpty, "a failed call returned memory");
                        continue;
                    }

                    Assert.Equal(length, memory.Length);
                    Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0, "a new block was not zeroed");
                    long alignment = (flags & NdisMemoryFlags.Contiguous) != 0 ? Environment.SystemPageSize
                        : (flags & NdisMemoryFlags.NonCached) != 0 ? NdisMemoryAllocator.CacheLineSize
                        : 8;
                    Assert.Equal(0, TestPools.AddressOf(memory) % alignment);
                    byte fill = (byte)random.Next(1, 256);
                    memory.Span.Fill(fill);
                    live.Add(new Block(memory, flags, native, fill));
                    if (native)
                    {
                        nativeBytes += length;
                    }
                    else
                    {
                        arenaBytes += length;
                    }
                }
                else if (op < 65 && live.Count > 0)
                {
                    int victim = random.Next(live.Count);
                    Block block = live[victim];
                    int how = random.Next(4);
                    step = $"step {i}: FreeMemory(live {block.Memory.Length}-byte {block.Flags} block, {(how == 0 ? "wrong flags" : how == 1 ? "sliced" : "as allocated")})";
                    if (how == 0)
                    {
                        NdisMemoryFlags wrong = block.Flags == NdisMemoryFlags.None ? NdisMemoryFlags.NonCached : NdisMemoryFlags.None;
                        Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(block.Memory, wrong));
                    }
                    else if (how == 1 && block.Memory.Length > 1)
                    {
                        Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(block.Memory[..^1], block.Flags));
                    }
                    else
                    {
                        Assert.Equal(SlabProviderStatus.Success, ndis.FreeMemory(block.Memory, block.Flags));
                        live.RemoveAt(victim);
                        stale.Add(block);
                        if (block.Native)
                        {
                            nativeBytes -= block.Memory.Length;
                            dead.Add(block.Memory);
                        }
                    }
                }
                else if (op < 72)
                {
                    int which = random.Next(3);
                    step = $"step {i}: FreeMemory({(which == 0 && stale.Count > 0 ? "freed or stale block" : which == 1 ? "another request's block" : "empty memory")})";
                    (Memory<byte> memory, NdisMemoryFlags flags) = which == 0 && stale.Count > 0
                        ? (stale[^1].Memory, stale[^1].Flags)
                        : which == 1 ? (foreign, NdisMemoryFlags.None) : (Memory<byte>.Empty, NdisMemoryFlags.None);
                    Assert.Equal(SlabProviderStatus.InvalidParameter, ndis.FreeMemory(memory, flags));
                }
                else if (op < 80)
                {
                    int length = random.Next(1, 40_000);
                    int minimum = random.Next(1, length + 1);
                    NdisMemoryFlags flags = random.Next(2) == 0 ? NdisMemoryFlags.None : NdisMemoryFlags.NonCached;
                    step = $"step {i}: AllocateMemoryInBlocks({length}, {flags}, min {minimum})";
                    int blocksBefore = ndis.BlocksInUse;
                    SlabProviderStatus status = ndis.AllocateMemoryInBlocks(length, flags, minimum, out Memory<byte>[] blocks);
                    if (status == SlabProviderStatus.Success)
                    {
                        Assert.False(ended, "a released allocator handed out blocks");
                        Assert.Equal(length, blocks.Sum(b => b.Length));
                        foreach (Memory<byte> memory in blocks)
                        {
                            Assert.True(memory.Length >= Math.Min(minimum, length), "a block shorter than the minimum");
                            Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0, "a new block was not zeroed");
                            byte fill = (byte)random.Next(1, 256);
                            memory.Span.Fill(fill);
                            live.Add(new Block(memory, flags, flags != NdisMemoryFlags.None, fill));
                            if (flags != NdisMemoryFlags.None)
                            {
                                nativeBytes += memory.Length;
                            }
                        }
                    }
                    else
                    {
                        Assert.Equal(SlabProviderStatus.Failure, status);
                        Assert.Empty(blocks);
                        Assert.Equal(blocksBefore, ndis.BlocksInUse);
                    }

                    // Arena blocks taken and given back by a failed attempt stay spent until the request ends.
                    if (!ended)
                    {
                        arenaBytes = arena.AllocatedBytes;
                    }
                }
                else if (op < 86)
                {
                    // The request ends: the arena resets, which releases the allocator and frees its native blocks.
                    step = $"step {i}: Reset()";
                    arena.Reset();
                    Assert.True(ndis.IsDisposed);
                    Assert.Equal(0, ndis.NativeBytesInUse);
                    dead.AddRange(live.Select(b => b.Memory));
                    stale.AddRange(live);
                    live.Clear();
                    arenaBytes = 0;
                    nativeBytes = 0;
                    ended = true;
                }
                else if (op < 92 && ended)
                {
                    step = $"step {i}: new NdisMemoryAllocator(arena)";
                    ndis = new NdisMemoryAllocator(arena, options);
                    ended = false;
                }
                else if (!ended)
                {
                    long newQuota = random.Next(3) == 0 ? 0 : arenaBytes + nativeBytes + random.Next(0, 100_000);
                    step = $"step {i}: MaxBytes = {newQuota}";
                    arena.MaxBytes = newQuota;
                    quota = newQuota;
                }

                Assert.Equal(ended ? 0 : live.Count, ndis.BlocksInUse);
                Assert.Equal(nativeBytes, ndis.NativeBytesInUse);
                if (!ended)
                {
                    Assert.Equal(arenaBytes, arena.AllocatedBytes);
                    Assert.True(quota == 0 || arenaBytes + nativeBytes <= quota, $"{arenaBytes} arena + {nativeBytes} native bytes held under a quota of {quota}");
                }

                foreach (Block block in live)
                {
                    Assert.True(block.Memory.Span.IndexOfAnyExcept(block.Fill) < 0, "a live block was overwritten");
                }

                if (dead.Count > 0)
                {
                    Memory<byte> memory = dead[random.Next(dead.Count)];
                    Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
                }
            }

            step = "Dispose()";
            arena.Dispose();
            otherArena.Dispose();
            Assert.Equal(0, ndis.NativeBytesInUse);
            Assert.Equal(0, pool.GetStatistics().SlabsInUse);
            Assert.Equal(0, pool.GetStatistics().OversizeInUse);
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException || !ex.Message.StartsWith("seed ", StringComparison.Ordinal))
        {
            output.WriteLine(AdapterModelSeeds.Replay(seed, step));
            throw new Xunit.Sdk.XunitException($"{AdapterModelSeeds.Replay(seed, step)}: {ex.Message}");
        }
    }

    private sealed record Block(Memory<byte> Memory, NdisMemoryFlags Flags, bool Native, byte Fill);
}
