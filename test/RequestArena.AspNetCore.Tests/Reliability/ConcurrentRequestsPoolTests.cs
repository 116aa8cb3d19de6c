using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace RequestArena.AspNetCore.Tests.Reliability;

/// <summary>512 requests holding their arenas at the same moment on Kestrel: the pool stays within its cap and loses no slab.</summary>
[Collection(ReliabilityCollection.Name)]
public sealed class ConcurrentRequestsPoolTests(ITestOutputHelper output)
{
    private const int Requests = 512;
    private const int SlabSize = 4096;
    private const long Cap = 16 * SlabSize;

    // Each 3000-byte allocation fills most of a 4 KiB slab, so a request holds three slabs plus one oversize block.
    private const int SlabsPerRequest = 3;

    [Fact]
    public async Task Concurrency_FiveHundredTwelveRequests_PoolStaysWithinCapAndLosesNoSlab()
    {
        int arrived = 0;
        var allHere = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        SlabPoolStatistics atPeak = default;
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/hold/{id:int}", async (int id, HttpContext context, IModuleAllocator arena) =>
            {
                byte fill = (byte)(id % 255 + 1);
                var held = new List<Memory<byte>>();
                for (int i = 0; i < SlabsPerRequest; i++)
                {
                    held.Add(arena.AllocateMemory(3000));
                }

                held.Add(arena.AllocateMemory(SlabSize + 1000));
                held.ForEach(m => m.Span.Fill(fill));

                // Nobody answers until every request holds its arena: 512 arenas alive at once.
                if (Interlocked.Increment(ref arrived) == Requests)
                {
                    atPeak = context.RequestServices.GetRequiredService<RequestArenaStatistics>().GetSnapshot().Pool;
                    allHere.SetResult();
                }

                await allHere.Task.WaitAsync(TimeSpan.FromSeconds(45));
                return held.All(m => !m.Span.ContainsAnyExcept(fill)) ? Results.Ok() : Results.Conflict();
            }),
            options: o =>
            {
                o.SlabSize = SlabSize;
                o.MaxRetainedBytes = Cap;

                // Every block returned must still be in the pool when it is counted below, however long the run takes.
                o.TrimInterval = Timeout.InfiniteTimeSpan;
            },
            kestrel: true);

        // Watches the pool the whole time: the cap must hold at every moment, not only once things are quiet.
        long maxPooled = 0;
        int samples = 0;
        using var stop = new CancellationTokenSource();
        Task sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                maxPooled = Math.Max(maxPooled, host.Statistics.GetSnapshot().Pool.PooledBytes);
                samples++;
                await Task.Delay(1);
            }
        });

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Requests }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        HttpStatusCode[] statuses = await Task.WhenAll(Enumerable.Range(0, Requests).Select(async id =>
        {
            using HttpResponseMessage response = await client.GetAsync($"/hold/{id}");
            return response.StatusCode;
        }));

        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == Requests, "every arena is released");
        await stop.CancelAsync();
        await sampler;
        SlabPoolStatistics after = host.Statistics.GetSnapshot().Pool;
        output.WriteLine($"peak: {atPeak.SlabsInUse} slabs + {atPeak.OversizeInUse} oversize in use, {atPeak.PooledBytes} B pooled; max pooled over {samples} samples {maxPooled} B (cap {Cap} B)");
        output.WriteLine($"after: rented {after.SlabsRented}, returned {after.SlabsReturned}, oversize {after.OversizeRented}; pooled {after.PooledSlabs} slabs + {after.PooledOversizeBlocks} oversize = {after.PooledBytes} B; dropped {after.SlabsDropped}, trimmed {after.SlabsTrimmed}; provider allocated - freed {after.ProviderAllocatedBytes - after.ProviderFreedBytes} B");

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(Requests * SlabsPerRequest, atPeak.SlabsInUse);
        Assert.Equal(Requests, atPeak.OversizeInUse);
        Assert.True(atPeak.PooledBytes <= Cap, $"pooled {atPeak.PooledBytes} B at the peak, cap {Cap} B");
        Assert.True(maxPooled <= Cap, $"pooled {maxPooled} B at some moment, cap {Cap} B");

        // How many samples fit in the run depends on scheduling; one is enough to show the
        // sampler watched while requests held their arenas, and the peak itself was read by the 512th request.
        Assert.True(samples > 0, "the pool was never sampled during the run");

        Assert.Equal(0, after.SlabsInUse);
        Assert.Equal(after.SlabsRented, after.SlabsReturned);
        Assert.Equal(0, after.OversizeInUse);
        Assert.Equal(Cap, after.PooledBytes);

        // Lost no slab: every byte taken from the provider is either pooled now or was given back.
        Assert.Equal(after.PooledBytes, after.ProviderAllocatedBytes - after.ProviderFreedBytes);

        // No rent was served from the pool (all 512 held theirs before any gave back), so every block returned, slab or
        // oversize, is now either pooled or was dropped at the cap.
        Assert.Equal(0, after.SlabsTrimmed);
        Assert.Equal(after.SlabsReturned + after.OversizeRented, after.PooledSlabs + after.PooledOversizeBlocks + after.SlabsDropped);
    }
}
