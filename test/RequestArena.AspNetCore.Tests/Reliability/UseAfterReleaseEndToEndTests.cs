using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace RequestArena.AspNetCore.Tests.Reliability;

/// <summary>
/// 1k concurrent requests on Kestrel whose handlers leak their arena memory and allocator into a static and into a
/// background task that outlives the request. Once the response has completed, every access throws
/// <see cref="ObjectDisposedException"/>; before that, a read the memory was still alive for sees only its own bytes.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class UseAfterReleaseEndToEndTests(ITestOutputHelper output)
{
    private const int Trials = 1000;
    private const int Concurrency = 32;
    private const int AccessesAfterCompletion = 20;

    private static readonly ConcurrentQueue<Leak> s_leaked = new();

    [Fact]
    public async Task UseAfterRelease_ThousandConcurrentLeakedHandles_ThrowOnceResponseCompleted()
    {
        int seed = ReliabilitySeed.Get(4_242);
        s_leaked.Clear();
        var observers = new ConcurrentQueue<Task<Observation>>();
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/leak/{trial:int}", async (int trial, HttpContext context) =>
            {
                var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

                // Registered before the arena is first touched: OnCompleted callbacks run last-registered first, so
                // this one runs after the middleware's release.
                context.Response.OnCompleted(() =>
                {
                    completed.SetResult();
                    return Task.CompletedTask;
                });

                IModuleAllocator arena = context.GetRequestArena();
                var random = new Random(seed * 7919 + trial);
                var leak = new Leak(trial, Pattern(trial), arena.AllocateMemory(random.Next(8) == 0 ? random.Next(4097, 12_000) : random.Next(1, 3000)), arena);
                leak.Memory.Span.Fill(leak.Pattern);
                s_leaked.Enqueue(leak);

                var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                observers.Enqueue(Task.Run(() => ObserveAsync(leak, firstRead, completed.Task)));

                // The observer has read the memory while it was certainly alive before the request may end.
                await firstRead.Task.WaitAsync(TimeSpan.FromSeconds(30));
                return Results.Bytes(leak.Memory);
            }),
            options: o => o.SlabSize = 4096,
            kestrel: true);

        using var client = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        int next = -1;
        int wrongBodies = 0;
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
        {
            int trial;
            while ((trial = Interlocked.Increment(ref next)) < Trials)
            {
                byte[] body = await client.GetByteArrayAsync($"/leak/{trial}");
                if (body.Length == 0 || body.AsSpan().ContainsAnyExcept(Pattern(trial)))
                {
                    Interlocked.Increment(ref wrongBodies);
                }
            }
        })));

        Observation[] observations = await Task.WhenAll(observers).WaitAsync(TimeSpan.FromSeconds(60));
        string replay = ReliabilitySeed.Replay(seed);
        output.WriteLine($"seed {seed}: {observations.Length} trials, {observations.Sum(o => o.AliveReads)} reads while alive ({observations.Sum(o => o.ForeignReads)} foreign), {observations.Sum(o => o.ThrewAfterCompletion)} accesses after completion threw ObjectDisposedException, {observations.Sum(o => o.WrongErrors.Count)} other errors");

        Assert.Equal(0, wrongBodies);
        Assert.Equal(Trials, observations.Length);
        Assert.All(observations, o => Assert.True(o.AliveReads > 0, $"{replay}: trial {o.Trial} never read its memory while alive"));
        Assert.All(observations, o => Assert.True(o.ForeignReads == 0, $"{replay}: trial {o.Trial} read {o.ForeignReads} bytes of another request while its memory was alive"));
        Assert.All(observations, o => Assert.True(o.WrongErrors.Count == 0, $"{replay}: trial {o.Trial}: the kept handle threw {string.Join("; ", o.WrongErrors)}"));
        Assert.All(observations, o => Assert.True(o.ResurrectedAfterDeath == 0, $"{replay}: trial {o.Trial}: memory usable again after it had thrown"));
        Assert.All(observations, o => Assert.True(
            o.ThrewAfterCompletion == AccessesAfterCompletion * 3,
            $"{replay}: trial {o.Trial}: {o.ThrewAfterCompletion} of {AccessesAfterCompletion * 3} accesses after the response completed threw ObjectDisposedException"));

        // And now, with every request long over and their slabs serving others: everything leaked into the static.
        Assert.Equal(Trials, s_leaked.Count);
        foreach (Leak leak in s_leaked)
        {
            Assert.Throws<ObjectDisposedException>(() => leak.Memory.Span[0]);
            Assert.Throws<ObjectDisposedException>(() => leak.Memory.Pin());
            Assert.Throws<ObjectDisposedException>(() => leak.Memory.Span.Slice(0, 1).Fill(0));
            Assert.Throws<ObjectDisposedException>(() => leak.Arena.AllocateMemory(16));
        }

        s_leaked.Clear();
        Assert.Equal(0, host.Statistics.GetSnapshot().Pool.SlabsInUse);
    }

    private static byte Pattern(int trial) => (byte)(trial % 251 + 1);

    private static async Task<Observation> ObserveAsync(Leak leak, TaskCompletionSource firstRead, Task completed)
    {
        int alive = 0;
        int foreign = 0;
        int resurrected = 0;
        bool died = false;
        var wrongErrors = new List<string>();

        // Races the release: reads for as long as the request may still run. A read counts only when the memory was
        // still alive after it (the lease dies before its slab can go to anyone else), so a byte seen then is a byte
        // the request owned, and must be its own.
        for (int i = 0; i < 10_000 && !completed.IsCompleted; i++)
        {
            if (!TryRead(leak.Memory, i, out byte value))
            {
                died = true;
            }
            else if (died)
            {
                resurrected++;
            }
            else
            {
                Interlocked.MemoryBarrier();
                if (!Released.Is(leak.Memory))
                {
                    alive++;
                    if (value != leak.Pattern)
                    {
                        foreign++;
                    }
                }
            }

            // The kept handle allocates across the release too: it may succeed while the request runs, and otherwise
            // must fail with ObjectDisposedException, never anything else.
            try
            {
                leak.Arena.AllocateMemory(16);
            }
            catch (ObjectDisposedException)
            {
            }
            catch (Exception ex)
            {
                wrongErrors.Add($"{ex.GetType().Name}: {ex.Message}");
            }

            firstRead.TrySetResult();
            await Task.Yield();
        }

        firstRead.TrySetResult();
        await completed;

        // The response has completed: from here every access throws, however long it is kept and whoever now uses
        // the slab underneath.
        int threw = 0;
        for (int i = 0; i < AccessesAfterCompletion; i++)
        {
            threw += Throws(() => _ = leak.Memory.Span[i % leak.Memory.Length]);
            threw += Throws(() => leak.Memory.Pin().Dispose());
            threw += Throws(() => leak.Arena.AllocateMemory(8));
            await Task.Yield();
        }

        return new Observation(leak.Trial, alive, foreign, resurrected, threw, wrongErrors);
    }

    private static bool TryRead(Memory<byte> memory, int i, out byte value)
    {
        try
        {
            value = memory.Span[i % memory.Length];
            return true;
        }
        catch (ObjectDisposedException)
        {
            value = 0;
            return false;
        }
    }

    private static int Throws(Action access)
    {
        try
        {
            access();
            return 0;
        }
        catch (ObjectDisposedException)
        {
            return 1;
        }
    }

    private sealed record Leak(int Trial, byte Pattern, Memory<byte> Memory, IModuleAllocator Arena);

    private sealed record Observation(int Trial, int AliveReads, int ForeignReads, int ResurrectedAfterDeath, int ThrewAfterCompletion, IReadOnlyList<string> WrongErrors);
}
