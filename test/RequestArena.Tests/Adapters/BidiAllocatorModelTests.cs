using RequestArena.Adapters;
using Xunit.Abstractions;

namespace RequestArena.Tests.Adapters;

// Random sequences of bidi operations (allocate, strings, blobs, free, double and foreign frees, quota changes, the
// request ending and a new one starting on the same arena) checked after every step against a plain model: which
// blocks are live and what they hold, which size classes have a free block to reuse, how many bytes the allocator
// took from the arena, and the Win32 error each failure must record.
public sealed class BidiAllocatorModelTests(ITestOutputHelper output)
{
    private const int Steps = 300;

    public static TheoryData<int> Seeds() => AdapterModelSeeds.Get(30);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomOperations_MatchTheModel(int seed)
    {
        var random = new Random(seed);
        bool zero = random.Next(4) != 0;
        long quota = random.Next(3) == 0 ? 0 : random.Next(2_000, 200_000);
        using var pool = TestPools.Create(slabSize: 4096 << random.Next(0, 3));
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = quota, ZeroMemory = zero });
        using var otherArena = new Arena(pool);
        var other = new BidiAllocator(otherArena);
        BidiBlock foreign = other.Allocate(16);

        var bidi = new BidiAllocator(arena);
        var live = new List<(BidiBlock Block, byte Fill, int SizeClass)>();
        var dead = new List<BidiBlock>();            // freed, or from an allocator whose request has ended
        var released = new List<BidiBlock>();        // whose arena memory has gone back
        var freeSlots = new int[BidiSizeClass.Count];
        long taken = 0;
        bool ended = false;
        string step = "start";

        try
        {
            for (int i = 0; i < Steps; i++)
            {
                int op = random.Next(100);
                if (op < 55)
                {
                    int size = random.Next(20) switch
                    {
                        0 => 0,
                        1 => -random.Next(1, 100),
                        2 => int.MaxValue,
                        3 => BidiAllocator.MaxBlockSize + 1,
                        < 12 => random.Next(1, 65),
                        < 18 => random.Next(65, 2_000),
                        _ => random.Next(2_000, 20_000),
                    };
                    int kind = random.Next(4);
                    step = $"step {i}: {(kind switch { 0 => "AllocateUtf16String", 1 => "AllocateUtf8String", 2 => "AllocateBlob", _ => "Allocate" })} ({size})";
                    string text = new(Enumerable.Range(0, Math.Clamp(size, 0, 300) / 3).Select(_ => (char)random.Next('a', 'z' + 1)).ToArray());
                    byte[] blob = new byte[Math.Clamp(size, 0, 5_000)];
                    random.NextBytes(blob);
                    int wanted = kind switch
                    {
                        0 => (text.Length + 1) * 2,
                        1 => text.Length + 1,
                        2 => blob.Length,
                        _ => size,
                    };

                    BidiAllocator.SetLastError(Win32Error.Success);
                    BidiBlock block = kind switch
                    {
                        0 => bidi.AllocateUtf16String(text),
                        1 => bidi.AllocateUtf8String(text),
                        2 => bidi.AllocateBlob(blob),
                        _ => bidi.Allocate(size),
                    };

                    Win32Error expected = Win32Error.Success;
                    int sizeClass = -1;
                    if (wanted < 1 || wanted > BidiAllocator.MaxBlockSize)
                    {
                        expected = Win32Error.InvalidParameter;
                    }
                    else if (ended)
                    {
                        expected = Win32Error.InvalidHandle;
                    }
                    else
                    {
                        sizeClass = BidiSizeClass.IndexOf(wanted);
                        if (freeSlots[sizeClass] > 0)
                        {
                            freeSlots[sizeClass]--;
                        }
                        else if (quota > 0 && taken + BidiSizeClass.SizeOf(sizeClass) > quota)
                        {
                            expected = Win32Error.NotEnoughMemory;
                        }
                        else
                        {
                            taken += BidiSizeClass.SizeOf(sizeClass);
                        }
                    }

                    if (expected != Win32Error.Success)
                    {
                        Assert.True(block.IsEmpty, "a failing allocation returned a block");
                        Assert.Equal(expected, BidiAllocator.GetLastError());
                        continue;
                    }

                    Assert.False(block.IsEmpty, $"allocation failed with {BidiAllocator.GetLastError()}");
                    Assert.Equal(Win32Error.Success, BidiAllocator.GetLastError());
                    Assert.Equal(wanted, block.Length);
                    switch (kind)
                    {
                        case 0:
                            Assert.Equal(text, block.ReadUtf16String());
                            break;
                        case 1:
                            Assert.Equal(text, block.ReadUtf8String());
                            break;
                        case 2:
                            Assert.True(block.Span.SequenceEqual(blob), "the blob's bytes were not copied");
                            break;
                        default:
                            if (zero)
                            {
                                Assert.True(block.Span.IndexOfAnyExcept((byte)0) < 0, "a fresh or reused block was not zeroed");
                            }

                            break;
                    }

                    byte fill = (byte)random.Next(1, 256);
                    block.Span.Fill(fill);
                    live.Add((block, fill, sizeClass));
                }
                else if (op < 75 && live.Count > 0)
                {
                    int victim = random.Next(live.Count);
                    step = $"step {i}: Free(live block {victim} of {live[victim].Block.Length} bytes)";
                    Assert.True(bidi.Free(live[victim].Block), $"freeing a live block failed with {BidiAllocator.GetLastError()}");
                    freeSlots[live[victim].SizeClass]++;
                    dead.Add(live[victim].Block);
                    live.RemoveAt(victim);
                }
                else if (op < 85)
                {
                    int which = random.Next(3);
                    BidiBlock block = which == 0 && dead.Count > 0 ? dead[random.Next(dead.Count)] : which == 1 ? foreign : default;
                    step = $"step {i}: Free({(which == 0 && dead.Count > 0 ? "freed or stale block" : which == 1 ? "another request's block" : "empty block")})";
                    BidiAllocator.SetLastError(Win32Error.Success);
                    Assert.False(bidi.Free(block), "a block that is not live here was freed");
                    Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
                }
                else if (op < 90)
                {
                    // The request ends: the arena resets, which releases the allocator with everything it handed out.
                    step = $"step {i}: Reset()";
                    arena.Reset();
                    Assert.True(bidi.IsDisposed);
                    released.AddRange(live.Select(l => l.Block));
                    released.AddRange(dead.Where(d => d.Owner == bidi));
                    dead.AddRange(live.Select(l => l.Block));
                    live.Clear();
                    Array.Clear(freeSlots);
                    taken = 0;
                    ended = true;
                }
                else if (op < 95 && ended)
                {
                    // The next request on the same (pooled) arena.
                    step = $"step {i}: new BidiAllocator(arena)";
                    bidi = new BidiAllocator(arena);
                    ended = false;
                }
                else if (!ended)
                {
                    long newQuota = random.Next(2) == 0 ? 0 : taken + random.Next(0, 50_000);
                    step = $"step {i}: MaxBytes = {newQuota}";
                    arena.MaxBytes = newQuota;
                    quota = newQuota;
                }

                Assert.Equal(ended ? 0 : live.Count, bidi.LiveBlocks);
                if (!ended)
                {
                    Assert.Equal(taken, arena.AllocatedBytes);
                }

                foreach ((BidiBlock block, byte fill, _) in live)
                {
                    Assert.True(block.Span.IndexOfAnyExcept(fill) < 0, "a live block was overwritten");
                }

                foreach (BidiBlock block in released.Count > 0 ? [released[random.Next(released.Count)]] : Array.Empty<BidiBlock>())
                {
                    Assert.Throws<ObjectDisposedException>(() => block.Span.Length);
                }
            }

            step = "Dispose()";
            arena.Dispose();
            otherArena.Dispose();
            Assert.Equal(0, pool.GetStatistics().SlabsInUse);
            Assert.Equal(0, pool.GetStatistics().OversizeInUse);
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException || !ex.Message.StartsWith("seed ", StringComparison.Ordinal))
        {
            output.WriteLine(AdapterModelSeeds.Replay(seed, step));
            throw new Xunit.Sdk.XunitException($"{AdapterModelSeeds.Replay(seed, step)}: {ex.Message}");
        }
    }
}
