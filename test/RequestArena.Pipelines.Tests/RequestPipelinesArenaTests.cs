using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Pipelines.Sockets.Unofficial.Arenas;
using RequestArena.AspNetCore.Tests;
using PipelinesArena = Pipelines.Sockets.Unofficial.Arenas.Arena;

namespace RequestArena.Pipelines.Tests;

/// <summary>The request's Pipelines arena: released on every path, zeroed, and never a window into another request.</summary>
public sealed class RequestPipelinesArenaTests
{
    private static readonly Action<IServiceCollection> s_pipelines = services => services.AddRequestArenaPipelines();

    [Fact]
    public async Task Success_SequenceKeptPastResponse_ThrowsAndSlabsReturn()
    {
        var kept = new ConcurrentQueue<Sequence<int>>();
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/fill", (PipelinesArena arena) =>
            {
                Sequence<int> numbers = arena.Allocate<int>(10_000);
                Fill(numbers, 7);
                kept.Enqueue(numbers);
                return Sum(numbers);
            }),
            services: s_pipelines);

        Assert.Equal("70000", await host.Client.GetStringAsync("/fill"));

        Assert.True(kept.TryDequeue(out Sequence<int> numbers));
        await Released.WaitUntilAsync(() => Throws(numbers), "the request's sequence is released");
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Pool.SlabsInUse == 0, "every slab is back in the pool");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EndpointThrows_SequenceReleasedAndSlabsReturn(bool kestrel)
    {
        var kept = new ConcurrentQueue<Sequence<long>>();
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/throw", string (PipelinesArena arena) =>
            {
                Sequence<long> numbers = arena.Allocate<long>(5000);
                kept.Enqueue(numbers);
                throw new InvalidOperationException("handler failed");
            }),
            services: s_pipelines,
            kestrel: kestrel);

        if (kestrel)
        {
            using HttpResponseMessage response = await host.Client.GetAsync("/throw");
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }
        else
        {
            // TestServer hands the handler's exception to the client.
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.Client.GetAsync("/throw"));
            Assert.Equal("handler failed", error.Message);
        }

        Assert.True(kept.TryDequeue(out Sequence<long> numbers));
        await Released.WaitUntilAsync(() => Throws(numbers), "the failed request's sequence is released");
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Pool.SlabsInUse == 0, "every slab is back in the pool");
    }

    [Fact]
    public async Task ClientAbort_OnKestrel_SequenceReleasedAndSlabsReturn()
    {
        var kept = new ConcurrentQueue<Sequence<int>>();
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/hang", async (HttpContext context, PipelinesArena arena, Probe probe) =>
            {
                Sequence<int> numbers = arena.Allocate<int>(20_000);
                kept.Enqueue(numbers);
                probe.Started.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    probe.Finished.TrySetResult();
                }
            }),
            services: s_pipelines,
            kestrel: true);

        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(IPAddress.Loopback, host.BaseAddress.Port);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
            await host.Probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));

            Assert.True(kept.TryPeek(out Sequence<int> inFlight));
            Assert.False(Throws(inFlight));

            // Reset rather than a graceful close: the client is gone mid-request.
            socket.LingerState = new LingerOption(true, 0);
        }

        await host.Probe.Finished.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(kept.TryPeek(out Sequence<int> numbers));
        await Released.WaitUntilAsync(() => Throws(numbers), "the aborted request's sequence is released");
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Pool.SlabsInUse == 0, "every slab is back in the pool");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Allocate_AfterResetWithinTheRequest_ReadsZeros(bool zeroMemory)
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/reset", (PipelinesArena arena) =>
            {
                Fill(arena.Allocate<int>(12_000), unchecked((int)0xDEADBEEF));
                arena.Reset();
                return arena.Allocate<int>(12_000).ToArray().Count(value => value != 0).ToString();
            }),
            options: o => o.ZeroMemory = zeroMemory,
            services: s_pipelines);

        Assert.Equal("0", await host.Client.GetStringAsync("/reset"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task NextRequest_SeesZerosNeverThePreviousRequestsBytes(bool zeroMemory)
    {
        // One slab pool, one request at a time: the second request is served from the slabs the first one wrote.
        await using var host = await ArenaTestHost.StartAsync(
            app =>
            {
                app.MapGet("/write", (PipelinesArena arena) =>
                {
                    Sequence<int> numbers = arena.Allocate<int>(12_000);
                    Fill(numbers, unchecked((int)0xDEADBEEF));
                    return "written";
                });
                app.MapGet("/read", (PipelinesArena arena) =>
                {
                    Sequence<int> numbers = arena.Allocate<int>(12_000);
                    return numbers.ToArray().Count(value => value != 0).ToString();
                });
            },
            options: o => o.ZeroMemory = zeroMemory,
            services: s_pipelines);

        for (int round = 0; round < 5; round++)
        {
            Assert.Equal("written", await host.Client.GetStringAsync("/write"));
            await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Pool.SlabsInUse == 0, "the writer's slabs are back");
            Assert.Equal("0", await host.Client.GetStringAsync("/read"));
        }

        // The last reader holds its slabs until its release, which can come after its response.
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Pool.SlabsInUse == 0, "the last reader's slabs are back");
        Assert.True(host.Statistics.GetSnapshot().Pool.PooledSlabs > 0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task KeptSequence_AnotherRequestWritesSameSlab_OldOneStillThrows(bool detectUseAfterRelease)
    {
        // With the arena's own check off, memory kept past the request is plain slab memory; the Pipelines blocks
        // still die with the request's Pipelines arena.
        var kept = new ConcurrentQueue<Sequence<int>>();
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/keep", (PipelinesArena arena) =>
            {
                Sequence<int> numbers = arena.Allocate<int>(1000);
                Fill(numbers, 1);
                kept.Enqueue(numbers);
                return "kept";
            }),
            options: o => o.DetectUseAfterRelease = detectUseAfterRelease,
            services: s_pipelines);

        await host.Client.GetStringAsync("/keep");
        Assert.True(kept.TryDequeue(out Sequence<int> old));
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Pool.SlabsInUse == 0, "the first request's slabs are back");
        await Released.WaitUntilAsync(() => Throws(old), "the first request's sequence is released");

        // The second request now owns the slab the first one used; the first one's sequence must not reach it.
        await host.Client.GetStringAsync("/keep");
        Assert.True(kept.TryDequeue(out Sequence<int> current));
        Assert.True(Throws(old));
        Assert.Throws<ObjectDisposedException>(() => old[0] = 99);
        await Released.WaitUntilAsync(() => Throws(current), "the second request's sequence is released");
    }

    [Fact]
    public async Task Allocate_OverEndpointQuota_AnswersLimitStatus()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/big", (PipelinesArena arena) => arena.Allocate<int>(100_000).Length.ToString())
                .WithRequestArena(maxBytes: 64 * 1024),
            services: s_pipelines);

        using HttpResponseMessage response = await host.Client.GetAsync("/big");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, host.Statistics.GetSnapshot().LimitExceeded);
    }

    private static void Fill<T>(Sequence<T> sequence, T value)
    {
        foreach (Span<T> span in sequence.Spans)
        {
            span.Fill(value);
        }
    }

    private static string Sum(Sequence<int> sequence) => sequence.ToArray().Sum().ToString();

    private static bool Throws<T>(Sequence<T> sequence)
    {
        try
        {
            _ = sequence.ToArray();
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }
}
