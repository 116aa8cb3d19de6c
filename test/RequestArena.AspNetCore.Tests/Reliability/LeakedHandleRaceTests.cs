using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace RequestArena.AspNetCore.Tests.Reliability;

/// <summary>
/// A request's handle kept by a background thread that keeps allocating while the request is released: the race the
/// end-to-end tests can only hit by chance, driven here a thousand times on the middleware's own allocator, so a handle
/// that could still reach its pooled arena after the release fails within the run.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class LeakedHandleRaceTests(ITestOutputHelper output)
{
    private const int Trials = 1000;

    [Fact]
    public void LeakedHandle_AllocatingDuringRelease_OnlyThrowsAndNeverTouchesAnotherArena()
    {
        using ServiceProvider services = new ServiceCollection().AddRequestArena().BuildServiceProvider();
        RequestArenaRuntime runtime = services.GetRequiredService<RequestArenaRuntime>();
        SlabPool pool = services.GetRequiredService<RequestArenaPools>().SlabPool;
        var failures = new List<string>();
        RequestArenaAllocator? leaked = null;
        Exception? ending = null;
        using var start = new SemaphoreSlim(0);
        using var ended = new SemaphoreSlim(0);
        bool finished = false;
        long allocated = 0;
        long refused = 0;
        bool allocating = false;

        // The background thread: allocates through the kept handle until the handle refuses.
        var background = new Thread(() =>
        {
            while (true)
            {
                start.Wait();
                if (Volatile.Read(ref finished))
                {
                    return;
                }

                try
                {
                    while (true)
                    {
                        try
                        {
                            leaked!.AllocateMemory(1024);
                            allocated++;
                        }
                        catch (ArenaLimitExceededException)
                        {
                            // The limit keeps each trial to a few slabs; refused calls still race the release.
                            refused++;
                        }

                        Volatile.Write(ref allocating, true);
                    }
                }
                catch (Exception ex)
                {
                    ending = ex;
                }

                ended.Release();
            }
        })
        { IsBackground = true };
        background.Start();

        for (int trial = 0; trial < Trials && failures.Count < 5; trial++)
        {
            leaked = new RequestArenaAllocator(runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 256 * 1024);
            leaked.AllocateMemory(64);
            Volatile.Write(ref allocating, false);
            start.Release();

            // Release once the background is in its loop, at a varying point of it.
            SpinWait.SpinUntil(() => Volatile.Read(ref allocating), TimeSpan.FromSeconds(10));
            Thread.SpinWait(trial % 300);
            leaked.Release();
            Assert.True(ended.Wait(TimeSpan.FromSeconds(10)), $"trial {trial}: the kept handle went on allocating after its release");

            if (ending is not ObjectDisposedException)
            {
                failures.Add($"trial {trial}: the kept handle threw {ending?.GetType().Name}: {ending?.Message}");
            }

            // No request runs now: every slab must be back, not held by a pooled arena.
            SlabPoolStatistics idle = pool.GetStatistics();
            if (idle.SlabsInUse != 0)
            {
                failures.Add($"trial {trial}: {idle.SlabsInUse} slabs held with no request running");
            }

            // The next request gets the same pooled arena; it must start empty.
            var next = new RequestArenaAllocator(runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 4096);
            next.AllocateMemory(100);
            if (next.AllocatedBytes != 100)
            {
                failures.Add($"trial {trial}: the next request's arena counts {next.AllocatedBytes} bytes after it allocated 100");
            }

            next.Release();
        }

        Volatile.Write(ref finished, true);
        start.Release();
        background.Join();

        SlabPoolStatistics end = pool.GetStatistics();
        output.WriteLine($"{Trials} trials; background calls before the release: {allocated} allocated, {refused} over the limit; slabs rented {end.SlabsRented}, in use {end.SlabsInUse}; failures {failures.Count}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }
}
