using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace RequestArena.AspNetCore.Tests.Reliability;

/// <summary>
/// 10k seeded requests through the real middleware, 8 at a time, each writing a random secret into everything it
/// allocates from small (4 KiB) slabs that the pool hands from request to request.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class CrossRequestLeakageTests(ITestOutputHelper output)
{
    private const int Requests = 10_000;
    private const int Concurrency = 8;
    private const int SlabSize = 4096;

    [Fact]
    public async Task Leakage_TenThousandSeededRequests_NoneReadsANonZeroByteAtAllocation()
    {
        int seed = ReliabilitySeed.Get(7_301);

        Totals totals = await RunAsync(seed, zeroMemory: true);

        Assert.True(totals.Dirty == 0, $"{ReliabilitySeed.Replay(seed)}: {totals.Dirty} allocations held bytes written before them; first: {totals.FirstProblem}");
        Assert.True(totals.Overwritten == 0, $"{ReliabilitySeed.Replay(seed)}: {totals.Overwritten} allocations changed under their request; first: {totals.FirstProblem}");
        Assert.True(totals.Misaligned == 0, $"{ReliabilitySeed.Replay(seed)}: {totals.Misaligned} allocations not 8-byte aligned");
        Assert.True(totals.SlabReuses > Requests, $"only {totals.SlabReuses} rents were served from the pool: the test did not exercise reuse");
    }

    [Fact]
    public async Task Leakage_ZeroMemoryOff_RequestsStillNeverShareLiveMemory()
    {
        // ZeroMemory = false is documented as unsafe: a request may read bytes an earlier request wrote. What it still
        // promises: no two live allocations overlap, alignment holds, memory dies with its request. The stale bytes it
        // does show prove the harness would see a leak if zeroing failed.
        int seed = ReliabilitySeed.Get(7_302);

        Totals totals = await RunAsync(seed, zeroMemory: false);

        Assert.True(totals.Dirty > 0, $"{ReliabilitySeed.Replay(seed)}: no allocation showed an earlier request's bytes, so this harness cannot detect a leak");
        Assert.True(totals.Overwritten == 0, $"{ReliabilitySeed.Replay(seed)}: {totals.Overwritten} allocations changed under their request; first: {totals.FirstProblem}");
        Assert.True(totals.Misaligned == 0, $"{ReliabilitySeed.Replay(seed)}: {totals.Misaligned} allocations not 8-byte aligned");
        Assert.True(totals.ReleasedAfterwards, "memory kept from a request was still usable after the request");
    }

    private async Task<Totals> RunAsync(int seed, bool zeroMemory)
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/secret/{id:int}", (int id, HttpContext context, IModuleAllocator arena, Probe probe) => HandleAsync(seed, id, arena, probe)),
            options: o =>
            {
                o.SlabSize = SlabSize;
                o.MaxRetainedBytes = 256 * SlabSize;
                o.ZeroMemory = zeroMemory;
            });

        var totals = new Totals();
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
        {
            int id;
            while ((id = Interlocked.Increment(ref next)) < Requests)
            {
                string[] parts = (await host.Client.GetStringAsync($"/secret/{id}")).Split(' ', 4);
                string[] counts = parts[0].Split(',');
                totals.Add(int.Parse(counts[0], CultureInfo.InvariantCulture), int.Parse(counts[1], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture), parts.Length > 3 ? $"request {id}: {parts[3]}" : null);
            }
        })));

        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == Requests, "every request's arena is released");
        SlabPoolStatistics pool = host.Statistics.GetSnapshot().Pool;
        Assert.Equal(0, pool.SlabsInUse);
        Assert.Equal(0, pool.OversizeInUse);

        // Every block ever created (slab or oversize) is now pooled, dropped at the cap or trimmed; rents beyond that
        // were served from the pool, with memory another request used before.
        totals.SlabReuses = pool.SlabsRented + pool.OversizeRented - (pool.PooledSlabs + pool.PooledOversizeBlocks + pool.SlabsDropped + pool.SlabsTrimmed);
        totals.ReleasedAfterwards = host.Probe.Memories.All(Released.Is);
        RequestArenaStatisticsSnapshot stats = host.Statistics.GetSnapshot();
        output.WriteLine($"seed {seed}, ZeroMemory {zeroMemory}: {stats.Requests} requests, {stats.TotalBytes} bytes in {totals.Allocations} allocations; slabs rented {pool.SlabsRented}, oversize {pool.OversizeRented}, {totals.SlabReuses} of those rents served from the pool; allocations showing earlier bytes {totals.Dirty}, overwritten {totals.Overwritten}, misaligned {totals.Misaligned}");
        return totals;
    }

    private static async Task<string> HandleAsync(int seed, int id, IModuleAllocator arena, Probe probe)
    {
        var random = new Random(seed * 1_000_003 + id);
        byte[] secret = new byte[16];
        random.NextBytes(secret);
        for (int i = 0; i < secret.Length; i++)
        {
            // Never 0: a zero byte of a secret could not be told from a cleared one.
            secret[i] |= 1;
        }

        var mine = new List<Memory<byte>>();
        int dirty = 0;
        int misaligned = 0;
        string? first = null;

        void Allocate(int size)
        {
            Memory<byte> memory = arena.AllocateMemory(size);
            int stale = memory.Span.IndexOfAnyExcept((byte)0);
            if (stale >= 0)
            {
                Interlocked.Increment(ref dirty);
                first ??= $"byte {stale} of a fresh {size}-byte allocation was 0x{memory.Span[stale]:x2}";
            }

            if (size > 0)
            {
                unsafe
                {
                    using System.Buffers.MemoryHandle pin = memory.Pin();
                    if ((nint)pin.Pointer % 8 != 0)
                    {
                        Interlocked.Increment(ref misaligned);
                    }
                }
            }

            Tile(memory.Span, secret);
            lock (mine)
            {
                mine.Add(memory);
            }
        }

        int count = random.Next(1, 24);
        int[] sizes = [.. Enumerable.Range(0, count).Select(_ => random.Next(100) switch
        {
            < 3 => 0,
            < 73 => random.Next(1, 512),
            < 93 => random.Next(512, SlabSize),
            _ => random.Next(SlabSize + 1, SlabSize * 3),
        })];

        if (random.Next(4) == 0)
        {
            // Several threads of one request allocate at once, each from its own chunk of the arena.
            await Task.WhenAll(sizes.Chunk(Math.Max(1, count / 3)).Select(part => Task.Run(() => Array.ForEach(part, Allocate))));
        }
        else
        {
            foreach (int size in sizes)
            {
                Allocate(size);
                if (random.Next(5) == 0)
                {
                    await Task.Yield();
                }
            }
        }

        // Let other requests run before looking again at what this one owns.
        await Task.Yield();
        int overwritten = 0;
        foreach (Memory<byte> memory in mine)
        {
            if (!HoldsTiled(memory.Span, secret))
            {
                overwritten++;
                first ??= $"a {memory.Length}-byte allocation no longer held this request's secret";
            }
        }

        if (id % 500 == 0)
        {
            probe.Memories.Enqueue(mine[0]);
        }

        return $"{mine.Count},{dirty} {overwritten} {misaligned}" + (first is null ? "" : " " + first);
    }

    private static void Tile(Span<byte> target, ReadOnlySpan<byte> secret)
    {
        for (int offset = 0; offset < target.Length; offset += secret.Length)
        {
            secret[..Math.Min(secret.Length, target.Length - offset)].CopyTo(target[offset..]);
        }
    }

    private static bool HoldsTiled(ReadOnlySpan<byte> memory, ReadOnlySpan<byte> secret)
    {
        for (int offset = 0; offset < memory.Length; offset += secret.Length)
        {
            int n = Math.Min(secret.Length, memory.Length - offset);
            if (!memory.Slice(offset, n).SequenceEqual(secret[..n]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed class Totals
    {
        private int _dirty;
        private int _overwritten;
        private int _misaligned;
        private int _allocations;

        public int Dirty => _dirty;

        public int Overwritten => _overwritten;

        public int Misaligned => _misaligned;

        public int Allocations => _allocations;

        public string? FirstProblem { get; private set; }

        public long SlabReuses { get; set; }

        public bool ReleasedAfterwards { get; set; }

        public void Add(int allocations, int dirty, int overwritten, int misaligned, string? problem)
        {
            Interlocked.Add(ref _allocations, allocations);
            Interlocked.Add(ref _dirty, dirty);
            Interlocked.Add(ref _overwritten, overwritten);
            Interlocked.Add(ref _misaligned, misaligned);
            if (problem is not null && FirstProblem is null)
            {
                FirstProblem = problem;
            }
        }
    }
}
