using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RequestArena.AspNetCore.Tests;

/// <summary>Release paths that need a real server: client abort and a long streaming response, on Kestrel at 127.0.0.1.</summary>
public sealed class RequestArenaMiddlewareKestrelTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientAbort_HandlerNoticesAbort_ArenaReleased(bool handlerThrows)
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/hang", async (HttpContext context, IModuleAllocator arena, Probe probe) =>
            {
                probe.Memories.Enqueue(arena.AllocateMemory(1024));
                probe.Started.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    probe.Notes.Enqueue("aborted");
                    probe.Finished.TrySetResult();
                    if (handlerThrows)
                    {
                        throw;
                    }
                }
            }),
            kestrel: true);

        using (Socket socket = await ConnectAsync(host))
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
            await host.Probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));

            Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> inFlight));
            Assert.False(Released.Is(inFlight));

            // Reset rather than a graceful close: the client is gone mid-request.
            socket.LingerState = new LingerOption(true, 0);
        }

        await host.Probe.Finished.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("aborted", Assert.Single(host.Probe.Notes));
        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> memory));
        await Released.WaitUntilAsync(() => Released.Is(memory), "the aborted request's memory is released");
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Pool.SlabsInUse == 0, "every slab is back in the pool");
    }

    [Fact]
    public async Task StreamingResponse_ArenaAliveUntilLastByteThenReleased()
    {
        const int Chunks = 20;
        const int ChunkSize = 8192;

        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/stream", async (HttpContext context, IModuleAllocator arena, Probe probe) =>
            {
                Memory<byte> first = arena.AllocateMemory(16);
                probe.Memories.Enqueue(first);
                for (int i = 0; i < Chunks; i++)
                {
                    Memory<byte> chunk = arena.AllocateMemory(ChunkSize);
                    chunk.Span.Fill((byte)('a' + i));
                    await context.Response.Body.WriteAsync(chunk);
                    await context.Response.Body.FlushAsync();
                    if (i == Chunks / 2)
                    {
                        // Half the body is on the wire: let the test look at the arena mid-stream.
                        probe.Started.TrySetResult();
                        await probe.Finished.Task.WaitAsync(TimeSpan.FromSeconds(10));
                    }
                    else
                    {
                        await Task.Delay(5);
                    }
                }

                // Memory from the start of the response is still usable at its end.
                first.Span[0] = 1;
            }),
            kestrel: true);

        using HttpResponseMessage response = await host.Client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Task<byte[]> body = response.Content.ReadAsByteArrayAsync();

        await host.Probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> first));
        bool releasedMidStream = Released.Is(first);
        RequestArenaStatisticsSnapshot midStream = host.Statistics.GetSnapshot();
        host.Probe.Finished.SetResult();
        Assert.False(releasedMidStream);
        Assert.Equal(0, midStream.Requests);
        Assert.True(midStream.Pool.SlabsInUse > 0);

        byte[] bytes = await body.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Chunks * ChunkSize, bytes.Length);
        for (int i = 0; i < Chunks; i++)
        {
            Assert.False(bytes.AsSpan(i * ChunkSize, ChunkSize).ContainsAnyExcept((byte)('a' + i)));
        }

        await Released.WaitUntilAsync(() => Released.Is(first), "the streamed request's memory is released");

        // The memory dies when the arena goes back to its pool, before the release records the request.
        await host.WaitForReleasesAsync(1);
        RequestArenaStatisticsSnapshot snapshot = host.Statistics.GetSnapshot();
        Assert.Equal(1, snapshot.Requests);
        Assert.Equal(16 + (Chunks * ChunkSize), snapshot.TotalBytes);
        Assert.Equal(0, snapshot.Pool.SlabsInUse);
    }

    [Fact]
    public async Task NormalCompletion_OnKestrel_ReleasedAfterResponse()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/ok", (IModuleAllocator arena, Probe probe) =>
            {
                probe.Memories.Enqueue(arena.AllocateMemory(100));
                return "ok";
            }),
            kestrel: true);

        Assert.Equal("ok", await host.Client.GetStringAsync("/ok"));

        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> memory));
        await Released.WaitUntilAsync(() => Released.Is(memory), "the memory is released");
    }

    [Fact]
    public async Task HandlerThrows_OnKestrel_ReleasedOnceAnd500()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/throws", (HttpContext context, Probe probe) =>
            {
                // Registered before the arena is first used: OnCompleted callbacks run last-registered first, so this
                // one signals once the middleware's own callback has run.
                context.Response.OnCompleted(() =>
                {
                    probe.Finished.TrySetResult();
                    return Task.CompletedTask;
                });
                probe.Memories.Enqueue(context.GetRequestArena().AllocateMemory(100));
                throw new InvalidOperationException("failed");
            }),
            kestrel: true);

        HttpResponseMessage response = await host.Client.GetAsync("/throws");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> memory));
        Assert.True(Released.Is(memory));

        // Kestrel also runs OnCompleted after the failure: the release must not be counted twice.
        await host.Probe.Finished.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, host.Statistics.GetSnapshot().Requests);
    }

    private static async Task<Socket> ConnectAsync(ArenaTestHost host)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, host.BaseAddress.Port);
        return socket;
    }
}
