using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RequestArena.AspNetCore.Tests;

/// <summary>The middleware's behaviour through a real pipeline on TestServer: isolation, laziness, release, limits.</summary>
public sealed class RequestArenaMiddlewareTests
{
    [Fact]
    public async Task Allocators_64RequestsInFlight_EachKeepsItsOwnBytes()
    {
        const int Requests = 64;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int arrived = 0;

        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/fill/{id:int}", async (int id, IModuleAllocator arena, Probe probe) =>
        {
            probe.Allocators.Enqueue(arena);
            Memory<byte> first = arena.AllocateMemory(3000);
            first.Span.Fill((byte)id);

            // Every request holds its memory while all the others write theirs.
            if (Interlocked.Increment(ref arrived) == Requests)
            {
                allArrived.SetResult();
            }

            await allArrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Memory<byte> second = arena.AllocateMemory(3000);
            second.Span.Fill((byte)(id ^ 0xFF));
            await Task.Yield();

            bool intact = !first.Span.ContainsAnyExcept((byte)id) && !second.Span.ContainsAnyExcept((byte)(id ^ 0xFF));
            return intact ? "intact" : "corrupted";
        }));

        string[] results = await Task.WhenAll(Enumerable.Range(1, Requests).Select(i => host.Client.GetStringAsync($"/fill/{i}")));

        Assert.All(results, r => Assert.Equal("intact", r));
        Assert.Equal(Requests, host.Probe.Allocators.Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public async Task TryAllocateMemory_OverTheEndpointsQuota_ReturnsFalseAndTheRequestSucceeds()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/try", (IModuleAllocator arena) =>
        {
            // The injected handle is an IArenaAllocator: a handler can ask for memory it can do without.
            var arenaAllocator = Assert.IsAssignableFrom<IArenaAllocator>(arena);
            bool big = arenaAllocator.TryAllocateMemory(8 * 1024, out _);
            bool small = arenaAllocator.TryAllocateMemory(1024, out Memory<byte> memory);
            return $"{big} {small} {memory.Length} {arenaAllocator.ZeroMemory}";
        }).WithRequestArena(4 * 1024));

        using HttpResponseMessage response = await host.Client.GetAsync("/try");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("False True 1024 True", await response.Content.ReadAsStringAsync());
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 1, "the request's arena is released");
        Assert.Equal(1, host.Statistics.GetSnapshot().LimitExceeded);
    }

    [Fact]
    public async Task CreateCursor_InAHandler_AllocatesFromTheRequestsArenaWithinItsQuota()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/cursor/{count:int}", (int count, IModuleAllocator arena) =>
        {
            ArenaCursor cursor = ((IArenaAllocator)arena).CreateCursor();
            long total = 0;
            for (int i = 0; i < count; i++)
            {
                Memory<byte> field = cursor.AllocateMemory(16);
                total += field.Span.IndexOfAnyExcept((byte)0) < 0 ? field.Length : 0;
                field.Span.Fill(0xCD);
            }

            return total;
        }).WithRequestArena(16 * 1000));

        Assert.Equal("16000", await host.Client.GetStringAsync("/cursor/1000"));

        // One more field than the quota holds: the cursor's allocation throws as the handle's does, and the
        // middleware answers with the limit status.
        using HttpResponseMessage over = await host.Client.GetAsync("/cursor/1001");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, over.StatusCode);

        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 2, "both arenas are released");
        RequestArenaStatisticsSnapshot snapshot = host.Statistics.GetSnapshot();
        Assert.Equal(2 * 16_000, snapshot.TotalBytes);
        Assert.Equal(1, snapshot.LimitExceeded);
        Assert.Equal(0, snapshot.Pool.SlabsInUse);
    }

    [Fact]
    public async Task Allocate_AfterPreviousRequestWroteSameSlab_ReadsZero()
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            app.MapGet("/dirty", (IModuleAllocator arena) =>
            {
                arena.AllocateMemory(32 * 1024).Span.Fill(0xAB);
                return "dirty";
            });
            app.MapGet("/check", (IModuleAllocator arena) => arena.AllocateMemory(32 * 1024).Span.ContainsAnyExcept((byte)0) ? "saw old bytes" : "zero");
        });

        Assert.Equal("dirty", await host.Client.GetStringAsync("/dirty"));
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 1, "the first request's arena is released");
        long fromProvider = host.Statistics.GetSnapshot().Pool.ProviderAllocatedBytes;

        Assert.Equal("zero", await host.Client.GetStringAsync("/check"));

        // The second request got the very slab the first one dirtied, not a fresh one.
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 2, "the second request's arena is released");
        Assert.Equal(fromProvider, host.Statistics.GetSnapshot().Pool.ProviderAllocatedBytes);
    }

    [Fact]
    public async Task Request_ArenaNeverTouched_RentsNothingAndRecordsNothing()
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            app.MapGet("/untouched", (HttpContext context) => context.Features.Get<IRequestArenaFeature>() is null ? "no feature" : "feature");
            app.MapGet("/allocator-only", (IModuleAllocator arena) => arena is null ? "null" : "allocator");
        });

        Assert.Equal("feature", await host.Client.GetStringAsync("/untouched"));
        Assert.Equal("allocator", await host.Client.GetStringAsync("/allocator-only"));

        RequestArenaStatisticsSnapshot snapshot = host.Statistics.GetSnapshot();
        Assert.Equal(0, snapshot.Requests);
        Assert.Equal(0, snapshot.Pool.SlabsRented);
        Assert.Equal(0, snapshot.Pool.ProviderAllocatedBytes);
    }

    [Fact]
    public async Task Memory_CapturedByHandler_ThrowsObjectDisposedAfterResponseCompleted()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/capture", (IModuleAllocator arena, Probe probe) =>
        {
            Memory<byte> memory = arena.AllocateMemory(128);
            memory.Span.Fill(7);
            probe.Memories.Enqueue(memory);
            probe.Allocators.Enqueue(arena);
            return "captured";
        }));

        Assert.Equal("captured", await host.Client.GetStringAsync("/capture"));

        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> memory));
        await Released.WaitUntilAsync(() => Released.Is(memory), "the captured memory is released");
        Assert.Throws<ObjectDisposedException>(() => memory.Pin());
        var allocator = (IModuleAllocator)host.Probe.Allocators.Single();
        Assert.Throws<ObjectDisposedException>(() => allocator.AllocateMemory(1));
    }

    [Fact]
    public async Task Response_BodyBackedByArenaMemory_IsSentIntact()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/bytes", (IModuleAllocator arena) =>
        {
            Memory<byte> body = arena.AllocateMemory(10_000);
            body.Span.Fill((byte)'x');

            // The result writes the body after the handler returned; the arena must still be alive then.
            return Results.Bytes((ReadOnlyMemory<byte>)body, "text/plain");
        }));

        string body = await host.Client.GetStringAsync("/bytes");

        Assert.Equal(new string('x', 10_000), body);
    }

    [Fact]
    public async Task Handler_Throws_ArenaReleasedByMiddleware()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/throws", async (IModuleAllocator arena, Probe probe) =>
        {
            probe.Memories.Enqueue(arena.AllocateMemory(256));
            await Task.Yield();
            throw new InvalidOperationException("handler failed");
        }));

        // TestServer hands the application's exception to the client.
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.Client.GetAsync("/throws"));
        Assert.Equal("handler failed", ex.Message);

        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> memory));
        Assert.True(Released.Is(memory));
        Assert.Equal(1, host.Statistics.GetSnapshot().Requests);
        Assert.Equal(0, host.Statistics.GetSnapshot().Pool.SlabsInUse);
    }

    [Fact]
    public async Task Handler_ThrowsSynchronously_ArenaReleasedByMiddleware()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.Map("/throws-sync", (RequestDelegate)(context =>
        {
            context.RequestServices.GetRequiredService<Probe>().Memories.Enqueue(context.GetRequestArena().AllocateMemory(64));
            throw new InvalidOperationException("sync failure");
        })));

        await Assert.ThrowsAsync<InvalidOperationException>(() => host.Client.GetAsync("/throws-sync"));

        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> memory));
        Assert.True(Released.Is(memory));
    }

    [Fact]
    public async Task Handler_RequestTimeout_ArenaReleasedAnd504()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services =>
            {
                services.AddRequestArena();
                services.AddRequestTimeouts();
            },
            app =>
            {
                app.UseRouting();
                app.UseRequestTimeouts();
                app.UseRequestArena();
                app.MapGet("/slow", async (HttpContext context, IModuleAllocator arena, Probe probe) =>
                {
                    probe.Memories.Enqueue(arena.AllocateMemory(512));
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    return "never";
                }).WithRequestTimeout(TimeSpan.FromMilliseconds(100));
            });

        HttpResponseMessage response = await host.Client.GetAsync("/slow");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> memory));
        await Released.WaitUntilAsync(() => Released.Is(memory), "the timed-out request's memory is released");
    }

    [Fact]
    public async Task Allocate_OverGlobalLimit_Returns503ProblemDetails()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/alloc/{bytes:int}", (int bytes, IModuleAllocator arena) => arena.AllocateMemory(bytes).Length),
            options => options.MaxBytesPerRequest = 1000);

        HttpResponseMessage over = await host.Client.GetAsync("/alloc/1001");
        HttpResponseMessage under = await host.Client.GetAsync("/alloc/1000");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, over.StatusCode);
        Assert.Equal("application/problem+json", over.Content.Headers.ContentType?.MediaType);
        var problem = await over.Content.ReadFromJsonAsync<ProblemBody>();
        Assert.Equal(503, problem!.Status);
        Assert.Contains("1000 bytes", problem.Detail);
        Assert.Equal(HttpStatusCode.OK, under.StatusCode);
        Assert.Equal("1000", await under.Content.ReadAsStringAsync());
    }

    // A slab provider whose Free throws while a request's arena goes back: the request completes, the release is logged
    // as the provider's failure (not a cleanup's) and recorded, and the next request gets fresh slabs.
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Release_SlabProviderFreeThrows_LoggedRecordedAndTheNextRequestServed(int slabs)
    {
        var provider = new FailingFreeSlabProvider();
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/alloc/{count:int}", (int count, IModuleAllocator arena) =>
            {
                long total = 0;
                for (int i = 0; i < count; i++)
                {
                    total += arena.AllocateMemory(RequestArenaOptions.DefaultSlabSize - 64).Length;
                }

                return total;
            }),
            options =>
            {
                options.SlabProvider = provider;
                options.MaxRetainedBytes = 0;
            });

        HttpResponseMessage first = await host.Client.GetAsync($"/alloc/{slabs}");
        await host.WaitForReleasesAsync(1);
        HttpResponseMessage second = await host.Client.GetAsync("/alloc/1");
        await host.WaitForReleasesAsync(2);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var failures = host.Logs.ForEvent(6);
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f => Assert.Equal("SlabProviderFreeFailed", f.EventId.Name));
        if (slabs == 1)
        {
            Assert.IsType<IOException>(failures[0].Exception);
        }
        else
        {
            Assert.Equal(slabs, Assert.IsAssignableFrom<AggregateException>(failures[0].Exception).InnerExceptions.Count);
        }

        Assert.Empty(host.Logs.ForEvent(3));
        Assert.Equal(2, host.Statistics.GetSnapshot().Requests);
        Assert.Equal(0, host.Statistics.GetSnapshot().Pool.SlabsInUse);
        Assert.Equal(slabs + 1, host.Statistics.GetSnapshot().Pool.ProviderFreeFailures);
        Assert.Equal(slabs + 1, provider.FreeCalls);
    }

    [Fact]
    public async Task Allocate_OverLimit_LogsWarningWithEndpointAndFigures()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/alloc/{bytes:int}", (int bytes, IModuleAllocator arena) =>
            {
                arena.AllocateMemory(600);
                return arena.AllocateMemory(bytes).Length;
            }),
            options => options.MaxBytesPerRequest = 1000);

        await host.Client.GetAsync("/alloc/700");

        var entry = Assert.Single(host.Logs.ForEvent(1));
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal("LimitExceeded", entry.EventId.Name);
        Assert.Contains("/alloc/{bytes:int}", entry.Message);
        Assert.Contains("700 bytes", entry.Message);
        Assert.Contains("1000 bytes", entry.Message);
        Assert.Contains("600 bytes already allocated", entry.Message);
        Assert.Contains("503", entry.Message);
    }

    [Fact]
    public async Task Allocate_OverLimit_UsesProblemDetailsServiceWhenRegistered()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/alloc", (IModuleAllocator arena) => arena.AllocateMemory(2000).Length),
            options =>
            {
                options.MaxBytesPerRequest = 1000;
                options.LimitExceededStatusCode = 429;
            },
            services => services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions["customized"] = true));

        HttpResponseMessage response = await host.Client.GetAsync("/alloc");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"customized\":true", body);
        Assert.Contains("\"status\":429", body);
    }

    [Fact]
    public async Task Allocate_OverLimit_ProblemDetailsCustomizationSeesTheLimitException()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/alloc", (IModuleAllocator arena) => arena.AllocateMemory(2000).Length),
            options => options.MaxBytesPerRequest = 1000,
            services => services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
                c.ProblemDetails.Extensions["limit"] = (c.Exception as ArenaLimitExceededException)?.Limit));

        HttpResponseMessage response = await host.Client.GetAsync("/alloc");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("\"limit\":1000", await response.Content.ReadAsStringAsync());
    }

    // A registered IProblemDetailsService declines a client that accepts no JSON; the answer then follows the client,
    // as UseStatusCodePages does, instead of sending problem+json past the application's own service.
    [Theory]
    [InlineData("text/html")]
    [InlineData("application/xml")]
    public async Task Allocate_OverLimitClientAcceptsNoJson_AnswersPlainTextNotProblemJson(string accept)
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/alloc", (IModuleAllocator arena) => arena.AllocateMemory(2000).Length),
            options => options.MaxBytesPerRequest = 1000,
            services => services.AddProblemDetails());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/alloc");
        request.Headers.Accept.ParseAdd(accept);

        HttpResponseMessage response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("Request memory limit exceeded", body);
        Assert.Contains("1000 bytes", body);
    }

    [Fact]
    public async Task Allocate_OverLimitAfterResponseStarted_RethrowsAndLogsEvent2()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/started", async (HttpContext context, IModuleAllocator arena) =>
            {
                await context.Response.WriteAsync("partial");
                await context.Response.Body.FlushAsync();
                arena.AllocateMemory(5000);
            }),
            options => options.MaxBytesPerRequest = 1000);

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            HttpResponseMessage response = await host.Client.GetAsync("/started");
            await response.Content.ReadAsStringAsync();
        });

        await Released.WaitUntilAsync(() => host.Logs.ForEvent(2).Count == 1, "event 2 is logged");
        Assert.Empty(host.Logs.ForEvent(1));
        Assert.Equal(1, host.Statistics.GetSnapshot().LimitExceeded);
    }

    [Fact]
    public async Task Allocate_OverLimit_LaterRequestsUnaffected()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/alloc/{bytes:int}", (int bytes, IModuleAllocator arena) => arena.AllocateMemory(bytes).Length),
            options => options.MaxBytesPerRequest = 4096);

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.Client.GetAsync("/alloc/5000")).StatusCode);
            Assert.Equal("4096", await host.Client.GetStringAsync("/alloc/4096"));
        }

        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 10, "all ten arenas are released");
        Assert.Equal(5, host.Statistics.GetSnapshot().LimitExceeded);
    }

    [Fact]
    public async Task Allocate_LimitHandledByHandler_CountedButNot503()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/handled", (IModuleAllocator arena) =>
            {
                try
                {
                    arena.AllocateMemory(2000);
                    return "allocated";
                }
                catch (ArenaLimitExceededException)
                {
                    return "fell back";
                }
            }),
            options => options.MaxBytesPerRequest = 1000);

        Assert.Equal("fell back", await host.Client.GetStringAsync("/handled"));
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 1, "the arena is released");
        Assert.Equal(1, host.Statistics.GetSnapshot().LimitExceeded);
        Assert.Empty(host.Logs.ForEvent(1));
    }

    [Fact]
    public async Task Handler_LimitFromOwnArena_StillBecomes503()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/own", () => ExceedOwnArena()));

        HttpResponseMessage response = await host.Client.GetAsync("/own");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, host.Statistics.GetSnapshot().LimitExceeded);
    }

    [Fact]
    public async Task Handler_LimitFromOwnArenaAfterTakingAllocator_CountedOnce()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/own", (IModuleAllocator unused) => ExceedOwnArena()));

        HttpResponseMessage response = await host.Client.GetAsync("/own");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, host.Statistics.GetSnapshot().LimitExceeded);
    }

    // A limit hit on an arena the handler made itself, not on the request's.
    private static string ExceedOwnArena()
    {
        using var own = new Arena(new ArenaOptions { MaxBytes = 10 });
        own.AllocateMemory(11);
        return "never";
    }

    [Fact]
    public async Task Feature_AfterMiddlewareReturned_IsRemovedFromRequest()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                app.Use(async (context, next) =>
                {
                    await next(context);
                    context.RequestServices.GetRequiredService<Probe>().Notes.Enqueue(context.Features.Get<IRequestArenaFeature>() is null ? "removed" : "still set");
                });
                app.UseRouting();
                app.UseRequestArena();
                app.MapGet("/", (IModuleAllocator arena) => arena.AllocateMemory(8).Length);
            });

        Assert.Equal("8", await host.Client.GetStringAsync("/"));

        Assert.Equal("removed", Assert.Single(host.Probe.Notes));
    }

    [Fact]
    public async Task Pipeline_ReExecutedByExceptionHandler_ResumesAllocatorWithFreshMemory()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                app.UseExceptionHandler("/error");
                app.UseRouting();
                app.UseRequestArena();
                app.MapGet("/fails", (IModuleAllocator arena, Probe probe) =>
                {
                    probe.Allocators.Enqueue(arena);
                    probe.Memories.Enqueue(arena.AllocateMemory(16));
                    throw new InvalidOperationException("boom");
                });
                app.Map("/error", (IModuleAllocator arena, Probe probe) =>
                {
                    probe.Allocators.Enqueue(arena);
                    return Results.Text($"error page {arena.AllocateMemory(32).Length}", statusCode: 500);
                });
            });

        HttpResponseMessage response = await host.Client.GetAsync("/fails");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("error page 32", await response.Content.ReadAsStringAsync());

        // Still one allocator per request (the DI scope cached it), but the failed pass's memory was released at once.
        Assert.Single(host.Probe.Allocators.Distinct(ReferenceEqualityComparer.Instance));
        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> failed));
        Assert.True(Released.Is(failed));
        // Each pass rented one slab, and both are counted; the request is measured once, with its first pass's bytes.
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot() is { Pool.SlabsInUse: 0, SlabsRented: 2 }, "both passes' arenas are released");
        RequestArenaStatisticsSnapshot snapshot = host.Statistics.GetSnapshot();
        Assert.Equal(1, snapshot.Requests);
        Assert.Equal(16, snapshot.TotalBytes);
    }

    [Fact]
    public async Task Pipeline_ReExecutedByStatusCodePages_KeepsAllocatorAndItsMemory()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                app.UseStatusCodePagesWithReExecute("/status/{0}");
                app.UseRouting();
                app.UseRequestArena();
                app.MapGet("/missing-thing", (IModuleAllocator arena, Probe probe) =>
                {
                    probe.Allocators.Enqueue(arena);
                    Memory<byte> memory = arena.AllocateMemory(16);
                    memory.Span.Fill(42);
                    probe.Memories.Enqueue(memory);
                    return Results.StatusCode(404);
                });
                app.MapGet("/status/{code:int}", (int code, HttpContext context, IModuleAllocator arena, Probe probe) =>
                {
                    probe.Allocators.Enqueue(context.GetRequestArena());
                    probe.Memories.TryPeek(out Memory<byte> first);
                    bool firstAlive = !first.Span.ContainsAnyExcept((byte)42);
                    return Results.Text($"{code} same={ReferenceEquals(arena, context.GetRequestArena())} alive={firstAlive}");
                });
            });

        HttpResponseMessage response = await host.Client.GetAsync("/missing-thing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("404 same=True alive=True", await response.Content.ReadAsStringAsync());
        Assert.Single(host.Probe.Allocators.Distinct(ReferenceEqualityComparer.Instance));
        Assert.True(host.Probe.Memories.TryPeek(out Memory<byte> memory));
        await Released.WaitUntilAsync(() => Released.Is(memory), "the request's memory is released after the response");
    }

    private sealed record ProblemBody(string? Title, int Status, string? Detail);
}
