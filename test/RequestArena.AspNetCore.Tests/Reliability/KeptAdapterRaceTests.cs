using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RequestArena.Adapters;
using Xunit.Abstractions;

namespace RequestArena.AspNetCore.Tests.Reliability;

/// <summary>
/// An adapter over a request's handle, kept by a background thread that keeps allocating and freeing through it while
/// the request is released: the race <see cref="KeptAdapterTests"/> does not drive (it calls only after the release).
/// Bidi clears reused blocks and RPC stamps headers through addresses they cache, so a call that slipped past the
/// release would write into a slab that is already back in the pool, or already the next request's.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class KeptAdapterRaceTests(ITestOutputHelper output)
{
    private const int Trials = 500;

    // Keeps each trial to a few slabs however long the background runs before the release lands.
    private const long Quota = 256 * 1024;

    private const byte Pattern = 0xAB;

    private static readonly byte[] Blob = Enumerable.Repeat((byte)0x5A, 40).ToArray();

    [Theory]
    [InlineData("bidi")]
    [InlineData("rpc")]
    [InlineData("ndis")]
    [InlineData("ndis-native")]
    [InlineData("bidi-strings")]
    [InlineData("bidi-strings, use after release unchecked")]
    public void KeptAdapter_CallingDuringRelease_EndsRefusedAndWritesNothingAfterIt(string kind)
    {
        // Unchecked memory is a plain array slice: a late write through it is not stopped by the slab's lease.
        using ServiceProvider services = new ServiceCollection()
            .AddRequestArena(o => o.DetectUseAfterRelease = !kind.EndsWith("unchecked", StringComparison.Ordinal))
            .AddRequestArenaAdapters()
            .BuildServiceProvider();
        RequestArenaRuntime runtime = services.GetRequiredService<RequestArenaRuntime>();
        SlabPool pool = services.GetRequiredService<RequestArenaPools>().SlabPool;
        var failures = new List<string>();
        long calls = 0;
        using var background = new BackgroundCaller();

        for (int trial = 0; trial < Trials && failures.Count < 5; trial++)
        {
            var handle = new RequestArenaAllocator(runtime, new DefaultHttpContext(), endpoint: null, maxBytes: Quota);
            Func<string?> step = kind switch
            {
                "bidi" => BidiSteps(new BidiAllocator(handle), AllocateBlock),
                _ when kind.StartsWith("bidi-strings", StringComparison.Ordinal) => BidiSteps(new BidiAllocator(handle), AllocateStringOrBlob),
                "rpc" => RpcSteps(new RpcScopeEnvironment(handle)),
                "ndis" => NdisSteps(new NdisMemoryAllocator(handle), NdisMemoryFlags.None),
                _ => NdisSteps(new NdisMemoryAllocator(handle), NdisMemoryFlags.NonCached),
            };

            // The background thread calls the kept adapter until a call reports the adapter's documented refusal.
            string? ending = null;
            background.Start(() =>
            {
                while ((ending = step()) is null)
                {
                    calls++;
                    background.InLoop();
                }
            });

            // Release once the background is in its loop, at a varying point of it.
            background.WaitInLoop(TimeSpan.FromSeconds(10));
            Thread.SpinWait(trial % 300);
            handle.Release();

            // The next request takes every pooled slab at once, before the background has necessarily stopped. Each
            // slab was zeroed when it came back, so a byte that is not 0 was written by the kept adapter after its
            // slab had left its request; the pattern then catches a write (bidi's clears are zeros) landing after it.
            SlabPoolStatistics idle = pool.GetStatistics();
            var next = new RequestArenaAllocator(runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
            var blocks = new Memory<byte>[idle.PooledSlabs];
            for (int i = 0; i < blocks.Length; i++)
            {
                // The largest block an 8-byte-aligned arena carves from one slab: one fresh slab per block.
                blocks[i] = next.AllocateMemory(pool.SlabSize - 8);
                int dirty = blocks[i].Span.IndexOfAnyExcept((byte)0);
                if (dirty >= 0)
                {
                    failures.Add($"trial {trial}: byte {dirty} of a pooled slab was {blocks[i].Span[dirty]} when the next request got it");
                }

                blocks[i].Span.Fill(Pattern);
            }

            Assert.True(background.WaitEnded(TimeSpan.FromSeconds(10), out Exception? error), $"trial {trial}: the kept {kind} adapter went on serving after its release");
            if (error is not null || ending != "refused")
            {
                failures.Add($"trial {trial}: the kept adapter ended with {error?.ToString() ?? ending}");
            }

            foreach (Memory<byte> block in blocks)
            {
                int changed = block.Span.IndexOfAnyExcept(Pattern);
                if (changed >= 0)
                {
                    failures.Add($"trial {trial}: byte {changed} of the next request's memory became {block.Span[changed]} under the kept adapter");
                }
            }

            next.Release();
            SlabPoolStatistics after = pool.GetStatistics();
            if (after.SlabsInUse != 0 || after.OversizeInUse != 0)
            {
                failures.Add($"trial {trial}: {after.SlabsInUse} slabs and {after.OversizeInUse} oversize blocks held with no request running");
            }
        }

        output.WriteLine($"{kind}: {Trials} trials, {calls} calls before the releases; slabs rented {pool.GetStatistics().SlabsRented}; failures {failures.Count}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }

    // Each step is one round of calls; it returns null to go on, "refused" once the adapter reports its documented
    // refusal of a released request, or what else went wrong.
    private static Func<string?> BidiSteps(BidiAllocator bidi, Func<BidiAllocator, int, BidiBlock> allocate)
    {
        var live = new Queue<BidiBlock>();
        int round = 0;
        return () =>
        {
            BidiBlock block = allocate(bidi, ++round);
            if (block.IsEmpty)
            {
                Win32Error error = BidiAllocator.GetLastError();
                return error == Win32Error.InvalidHandle ? "refused"
                    : error == Win32Error.NotEnoughMemory ? FreeAll(live, bidi) : $"error {error}";
            }

            // Freed in turn, so later allocations of the class reuse (and clear) the blocks.
            live.Enqueue(block);
            if (live.Count > 32 && !bidi.Free(live.Dequeue()) && !bidi.IsDisposed)
            {
                return $"Free failed on a live allocator ({BidiAllocator.GetLastError()})";
            }

            return null;
        };
    }

    // Mostly small blocks, now and then one over a slab's worth of small classes.
    private static BidiBlock AllocateBlock(BidiAllocator bidi, int round) => bidi.Allocate(round % 16 == 0 ? 20_000 : 48);

    // The calls that write the caller's data into the block they allocate: strings and blobs in turn.
    private static BidiBlock AllocateStringOrBlob(BidiAllocator bidi, int round) => (round % 3) switch
    {
        0 => bidi.AllocateUtf16String("kept past its request"),
        1 => bidi.AllocateUtf8String("kept past its request"),
        _ => bidi.AllocateBlob(Blob),
    };

    private static string? FreeAll(Queue<BidiBlock> live, BidiAllocator bidi)
    {
        while (live.TryDequeue(out BidiBlock block))
        {
            bidi.Free(block);
        }

        return null;
    }

    private static Func<string?> RpcSteps(RpcScopeEnvironment rpc)
    {
        int round = 0;
        return () =>
        {
            // Small blocks through the environment's chunk, and now and then one above 8 KiB, which takes the
            // handle's own slow path.
            Memory<byte> memory = rpc.Allocate(++round % 16 == 0 ? 20_000 : 16, out RpcStatus status);
            return status switch
            {
                RpcStatus.Ok => rpc.Free(memory) is RpcStatus.Ok or RpcStatus.NoEnvironment ? null : "Free failed",
                RpcStatus.NoEnvironment => "refused",
                RpcStatus.OutOfMemory => null,
                _ => $"status {status}",
            };
        };
    }

    // Arena blocks (flags None) or native ones (NonCached), which the release frees: a free racing it must not free
    // a native block twice.
    private static Func<string?> NdisSteps(NdisMemoryAllocator ndis, NdisMemoryFlags flags) => () =>
    {
        SlabProviderStatus status = ndis.AllocateMemory(out Memory<byte> memory, 64, flags);
        if (status == SlabProviderStatus.Success)
        {
            ndis.FreeMemory(memory, flags);
            return null;
        }

        // NDIS has one failure status: the quota, or a released request once the allocator says it is disposed.
        return ndis.IsDisposed ? "refused" : null;
    };
}
