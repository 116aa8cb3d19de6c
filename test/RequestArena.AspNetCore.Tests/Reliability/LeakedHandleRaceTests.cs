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
        long allocated = 0;
        long refused = 0;
        using var background = new BackgroundCaller();

        for (int trial = 0; trial < Trials && failures.Count < 5; trial++)
        {
            var leaked = new RequestArenaAllocator(runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 256 * 1024);
            leaked.AllocateMemory(64);

            // The background thread allocates through the kept handle until the handle refuses.
            background.Start(() =>
            {
                while (true)
                {
                    try
                    {
                        leaked.AllocateMemory(1024);
                        allocated++;
                    }
                    catch (ArenaLimitExceededException)
                    {
                        // The limit keeps each trial to a few slabs; refused calls still race the release.
                        refused++;
                    }

                    background.InLoop();
                }
            });

            // Release once the background is in its loop, at a varying point of it.
            background.WaitInLoop(TimeSpan.FromSeconds(10));
            Thread.SpinWait(trial % 300);
            leaked.Release();
            Assert.True(background.WaitEnded(TimeSpan.FromSeconds(10), out Exception? ending), $"trial {trial}: the kept handle went on allocating after its release");

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

        SlabPoolStatistics end = pool.GetStatistics();
        output.WriteLine($"{Trials} trials; background calls before the release: {allocated} allocated, {refused} over the limit; slabs rented {end.SlabsRented}, in use {end.SlabsInUse}; failures {failures.Count}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
    }
}
