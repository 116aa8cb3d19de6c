using System.Diagnostics;
using System.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RequestArena.AspNetCore;

namespace RequestArena.LoadTest.Soak;

/// <summary>
/// The application under soak: the real middleware (AddRequestArena/UseRequestArena) behind routing and
/// RequestTimeouts on Kestrel at 127.0.0.1, with one endpoint per kind of request. Runs in the load test's child
/// process and, for the short soak, inside the test process.
/// </summary>
internal static class SoakApp
{
    public const string StatsPath = "/soak/stats";

    /// <summary>Builds and starts the application on a free loopback port.</summary>
    public static async Task<WebApplication> StartAsync(SoakSettings settings, int port = 0)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");

        // Kestrel logs every escaped handler exception and aborted connection at Error level; at 5% faults that is
        // tens of thousands of console lines, which would cost more than the requests themselves.
        builder.Logging.ClearProviders();

        builder.Services.AddRequestArena(o =>
        {
            o.SlabSize = settings.SlabSize;
            o.MaxRetainedBytes = settings.MaxRetainedBytes;
        });
        builder.Services.AddRequestTimeouts();
        builder.Services.AddSingleton(new SoakServerState());

        WebApplication app = builder.Build();
        app.UseRouting();
        app.UseRequestTimeouts();
        app.UseRequestArena();
        Map(app, settings, app.Services.GetRequiredService<SoakServerState>());
        await app.StartAsync();
        return app;
    }

    /// <summary>The address Kestrel bound.</summary>
    public static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

    private static void Map(WebApplication app, SoakSettings settings, SoakServerState state)
    {
        app.MapGet("/soak/normal/{id:long}", (long id, HttpContext context) => TrackedAsync(state, () => NormalAsync(id, context, settings, state)));
        app.MapPost("/soak/upload/{id:long}", (long id, HttpContext context) => TrackedAsync(state, () => UploadAsync(id, context, state)));
        app.MapGet("/soak/stream/{id:long}", (long id, int chunks, int delayMs, HttpContext context) => TrackedAsync(state, () => StreamAsync(id, chunks, delayMs, context, settings, state)));
        app.MapGet("/soak/throw/{id:long}", (long id, HttpContext context) => TrackedAsync(state, () => ThrowAsync(id, context, state)));
        app.MapGet("/soak/timeout/{id:long}", (long id, HttpContext context) => TrackedAsync(state, () => TimeoutAsync(id, context, state)))
            .WithRequestTimeout(settings.RequestTimeout);
        app.MapGet("/soak/quota/{id:long}", (long id, HttpContext context) => TrackedAsync(state, () => QuotaAsync(id, context, settings, state)))
            .WithRequestArena(settings.QuotaBytes);
        app.MapGet(StatsPath, (bool? gc, HttpContext context) => Results.Json(Report(context.RequestServices, state, gc == true)))
            .DisableRequestArena();
    }

    // Every fault endpoint is counted in flight the same way, and any ObjectDisposedException escaping it means arena
    // memory died while its request was still running: that is what the soak exists to catch.
    private static async Task TrackedAsync(SoakServerState state, Func<Task> handler)
    {
        state.Enter();
        try
        {
            await handler();
        }
        catch (ObjectDisposedException)
        {
            state.PrematureRelease();
            throw;
        }
        finally
        {
            state.Exit();
        }
    }

    private static async Task NormalAsync(long id, HttpContext context, SoakSettings settings, SoakServerState state)
    {
        IModuleAllocator arena = context.GetRequestArena();
        byte pattern = SoakPayload.Pattern(id);
        var random = new Random(unchecked((int)id));
        state.ArenaUsed();
        Memory<byte> first = default;
        int count = random.Next(1, 7);
        for (int i = 0; i < count; i++)
        {
            Memory<byte> memory = arena.AllocateMemory(SoakPayload.NextSize(random, settings.SlabSize));
            state.CheckZero(memory.Span);
            memory.Span.Fill(pattern);
            if (i == 0)
            {
                first = memory;
            }

            // Some requests continue on another thread, as real handlers do after an await.
            if (random.Next(4) == 0)
            {
                await Task.Yield();
            }
        }

        Memory<byte> body = arena.AllocateMemory(SoakPayload.ResponseLength(id));
        state.CheckZero(body.Span);
        body.Span.Fill(pattern);
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
        state.CheckOwn(first.Span, pattern);
        state.NormalDone();
    }

    private static async Task UploadAsync(long id, HttpContext context, SoakServerState state)
    {
        IModuleAllocator arena = context.GetRequestArena();
        int length = (int)(context.Request.ContentLength ?? 0);
        state.ArenaUsed();
        Memory<byte> buffer = arena.AllocateMemory(length);
        state.CheckZero(buffer.Span);

        int read = 0;
        try
        {
            // An aborting client waits for this byte, so it resets the connection while the handler is in its read
            // loop, or still finishing this flush: the reset can reach the server before the flush's completion does.
            if (context.Request.Query.ContainsKey("early"))
            {
                await context.Response.Body.WriteAsync("R"u8.ToArray(), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }

            while (read < length)
            {
                int n = await context.Request.Body.ReadAsync(buffer[read..], context.RequestAborted);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or BadHttpRequestException)
        {
            state.UploadAborted();

            // Both ways a handler may leave after an abort: letting the exception escape, or returning.
            if (id % 2 == 0)
            {
                throw;
            }

            return;
        }

        if (read < length)
        {
            state.UploadAborted();
            return;
        }

        state.CheckOwn(buffer.Span, SoakPayload.Pattern(id));
        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(read.ToString(System.Globalization.CultureInfo.InvariantCulture), context.RequestAborted);
        state.UploadDone();
    }

    private static async Task StreamAsync(long id, int chunks, int delayMs, HttpContext context, SoakSettings settings, SoakServerState state)
    {
        try
        {
            IModuleAllocator arena = context.GetRequestArena();
            byte pattern = SoakPayload.Pattern(id);
            state.ArenaUsed();
            Memory<byte> first = arena.AllocateMemory(64);
            first.Span.Fill(pattern);
            context.Response.ContentLength = (long)chunks * settings.ChunkSize;
            for (int i = 0; i < chunks; i++)
            {
                Memory<byte> chunk = arena.AllocateMemory(settings.ChunkSize);
                state.CheckZero(chunk.Span);
                chunk.Span.Fill(pattern);
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                await Task.Delay(delayMs, context.RequestAborted);
            }

            // Memory from the start of the response is still the request's at its end.
            state.CheckOwn(first.Span, pattern);
            state.StreamDone();
        }
        catch (Exception ex) when ((ex is OperationCanceledException or IOException) && context.RequestAborted.IsCancellationRequested)
        {
            state.StreamAborted();
            if (id % 2 == 0)
            {
                throw;
            }
        }
    }

    private static async Task ThrowAsync(long id, HttpContext context, SoakServerState state)
    {
        IModuleAllocator arena = context.GetRequestArena();
        state.ArenaUsed();
        Memory<byte> memory = arena.AllocateMemory(2048);
        memory.Span.Fill(SoakPayload.Pattern(id));

        // Odd ids fail after the response has started, so the server can only reset the connection.
        if (id % 2 == 1)
        {
            await context.Response.Body.WriteAsync(memory, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }

        await Task.Yield();
        state.Thrown();
        throw new InvalidOperationException($"soak: injected fault in request {id}");
    }

    private static async Task TimeoutAsync(long id, HttpContext context, SoakServerState state)
    {
        IModuleAllocator arena = context.GetRequestArena();
        state.ArenaUsed();
        Memory<byte> first = arena.AllocateMemory(1024);
        first.Span.Fill(SoakPayload.Pattern(id));
        try
        {
            if (id % 2 == 0)
            {
                // Keeps allocating across thread hops until the timeout cancels it (bounded at about 5 s).
                for (int i = 0; i < 1000; i++)
                {
                    arena.AllocateMemory(256).Span.Fill(SoakPayload.Pattern(id));
                    await Task.Delay(5, context.RequestAborted);
                }
            }
            else
            {
                await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            state.TimedOut();
            throw;
        }

        state.TimeoutMissed();
    }

    private static async Task QuotaAsync(long id, HttpContext context, SoakSettings settings, SoakServerState state)
    {
        IModuleAllocator arena = context.GetRequestArena();
        state.ArenaUsed();
        try
        {
            switch (id % 3)
            {
                case 0:
                    // Creeps up to the limit in slab-sized steps.
                    for (int i = 0; i < 1000; i++)
                    {
                        arena.AllocateMemory(4096).Span.Fill(SoakPayload.Pattern(id));
                    }

                    break;
                case 1:
                    // One request far over the limit and over a slab: refused before any oversize block is rented.
                    arena.AllocateMemory((int)Math.Min(int.MaxValue, settings.QuotaBytes * 32));
                    break;
                default:
                    arena.AllocateMemory(8192).Span.Fill(SoakPayload.Pattern(id));
                    await Task.Yield();
                    arena.AllocateMemory((int)settings.QuotaBytes);
                    break;
            }
        }
        catch (ArenaLimitExceededException)
        {
            state.QuotaHit();
            throw;
        }
    }

    private static SoakServerReport Report(IServiceProvider services, SoakServerState state, bool collect)
    {
        if (collect)
        {
            // Twice, with finalizers in between, so what a first collection only made finalizable is gone too. The
            // second is aggressive: it also gives the GC's free space back to the OS, so the working set measures what
            // the process keeps (a leak) rather than how much the collector chose to keep committed (which follows
            // the machine's load, not the heap).
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        RequestArenaStatisticsSnapshot snapshot = services.GetRequiredService<RequestArenaStatistics>().GetSnapshot();
        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        using var process = Process.GetCurrentProcess();
        return new SoakServerReport
        {
            Counters = state.Read(),
            ReleasedRequests = snapshot.Requests,
            LimitExceeded = snapshot.LimitExceeded,
            Pool = snapshot.Pool,
            Collected = collect,
            WorkingSetBytes = process.WorkingSet64,
            GcHeapBytes = GC.GetTotalMemory(forceFullCollection: false),
            GcCommittedBytes = gc.TotalCommittedBytes,
            Gen2Collections = GC.CollectionCount(2),
            ServerGc = GCSettings.IsServerGC,
        };
    }
}
