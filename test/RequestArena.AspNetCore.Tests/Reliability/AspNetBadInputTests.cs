using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests.Reliability;

/// <summary>
/// Every ASP.NET Core entry point with bad input: out-of-range options at start-up, endpoint limits, the request's
/// handle with negative, zero, huge and int.MaxValue sizes, and every entry point used after its request. Each row
/// gets a documented, typed error (or status) and leaves the state intact. What other test classes already pin
/// (SlabSize 100, MaxBytesPerRequest -1, WithRequestArena(-1), GetRequestArena with no middleware, IModuleAllocator
/// from the root provider, memory touched after release) is not repeated here.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class AspNetBadInputTests
{
    private const string Accepted = "accepted";

    public static TheoryData<string, string, string> Table() => new()
    {
        // AddRequestArena: a bad option stops the host at start-up, naming the option, the range and the value.
        { "AddRequestArena SlabSize", "0", "OptionsValidationException: RequestArenaOptions.SlabSize must be from 4096 to 16777216 bytes; it was 0." },
        { "AddRequestArena SlabSize", "4095", "OptionsValidationException: RequestArenaOptions.SlabSize must be from 4096 to 16777216 bytes; it was 4095." },
        { "AddRequestArena SlabSize", "4096", Accepted },
        { "AddRequestArena SlabSize", "16777216", Accepted },
        { "AddRequestArena SlabSize", "16777217", "OptionsValidationException: RequestArenaOptions.SlabSize must be from 4096 to 16777216 bytes; it was 16777217." },
        { "AddRequestArena SlabSize", "int.MaxValue", "OptionsValidationException: RequestArenaOptions.SlabSize must be from 4096 to 16777216 bytes; it was 2147483647." },
        { "AddRequestArena SlabSize", "int.MinValue", "OptionsValidationException: RequestArenaOptions.SlabSize must be from 4096 to 16777216 bytes; it was -2147483648." },
        { "AddRequestArena MaxBytesPerRequest", "long.MinValue", "OptionsValidationException: RequestArenaOptions.MaxBytesPerRequest must be 0 (unlimited) or positive; it was -9223372036854775808." },
        { "AddRequestArena MaxBytesPerRequest", "long.MaxValue", Accepted },
        { "AddRequestArena MaxRetainedBytes", "long.MinValue", "OptionsValidationException: RequestArenaOptions.MaxRetainedBytes must be 0 or positive; it was -9223372036854775808." },
        { "AddRequestArena MaxRetainedBytes", "long.MaxValue", Accepted },
        { "AddRequestArena TrimInterval (ms)", "0", "OptionsValidationException: RequestArenaOptions.TrimInterval must be from 00:00:00.0010000 to 49.17:02:47.2940000, or Timeout.InfiniteTimeSpan; it was 00:00:00." },
        { "AddRequestArena TrimInterval (ms)", "-2", "OptionsValidationException: RequestArenaOptions.TrimInterval must be from 00:00:00.0010000 to 49.17:02:47.2940000, or Timeout.InfiniteTimeSpan; it was -00:00:00.0020000." },
        { "AddRequestArena TrimInterval (ms)", "-1", Accepted },
        { "AddRequestArena TrimInterval (ms)", "1", Accepted },
        { "AddRequestArena TrimInterval (ms)", "4294967294", Accepted },
        { "AddRequestArena TrimInterval (ms)", "4294967295", "OptionsValidationException: RequestArenaOptions.TrimInterval must be from 00:00:00.0010000 to 49.17:02:47.2940000, or Timeout.InfiniteTimeSpan; it was 49.17:02:47.2950000." },
        { "AddRequestArena TrimInterval (ms)", "long.MinValue", "OptionsValidationException: RequestArenaOptions.TrimInterval must be from 00:00:00.0010000 to 49.17:02:47.2940000, or Timeout.InfiniteTimeSpan; it was -10675199.02:48:05.4775808." },
        { "AddRequestArena LimitExceededStatusCode", "0", "OptionsValidationException: RequestArenaOptions.LimitExceededStatusCode must be an HTTP error status from 400 to 599; it was 0." },
        { "AddRequestArena LimitExceededStatusCode", "399", "OptionsValidationException: RequestArenaOptions.LimitExceededStatusCode must be an HTTP error status from 400 to 599; it was 399." },
        { "AddRequestArena LimitExceededStatusCode", "400", Accepted },
        { "AddRequestArena LimitExceededStatusCode", "599", Accepted },
        { "AddRequestArena LimitExceededStatusCode", "600", "OptionsValidationException: RequestArenaOptions.LimitExceededStatusCode must be an HTTP error status from 400 to 599; it was 600." },
        { "AddRequestArena LimitExceededStatusCode", "int.MinValue", "OptionsValidationException: RequestArenaOptions.LimitExceededStatusCode must be an HTTP error status from 400 to 599; it was -2147483648." },

        // Endpoint limits.
        { "WithRequestArena", "long.MinValue", "ArgumentOutOfRangeException: maxBytes ('-9223372036854775808') must be a non-negative value." },
        { "WithRequestArena", "long.MaxValue", Accepted },
        { "[RequestArena(MaxBytes)]", "-1", "ArgumentOutOfRangeException: value ('-1') must be a non-negative value." },

        // The request's handle, inside the request: the call fails, the request's arena is untouched and usable.
        { "AllocateMemory in request", "-1", "ArgumentOutOfRangeException:" },
        { "AllocateMemory in request", "int.MinValue", "ArgumentOutOfRangeException:" },
        { "AllocateMemory in request", "0", Accepted },
        { "AllocateMemory in request", "int.MaxValue", "ArgumentOutOfRangeException: The size must not exceed" },
        { "AllocateMemory in request, limit 64 KiB", "int.MaxValue", "ArenaLimitExceededException:" },
        { "AllocateMemory in request, limit 64 KiB", "65537", "ArenaLimitExceededException:" },

        // The same calls escaping the endpoint: the documented status, and the next request is unaffected.
        { "AllocateMemory escaping, limit 64 KiB", "int.MaxValue", "status 503" },
        { "AllocateMemory escaping", "-1", "status 500" },

        // Entry points used after their request has completed.
        { "handle after release: AllocateMemory", "1", "ObjectDisposedException:" },
        { "handle after release: AllocateMemory", "0", "ObjectDisposedException:" },
        { "handle after release: AllocateMemory", "-1", "ObjectDisposedException:" },
        { "handle after release: AllocateMemory", "int.MaxValue", "ObjectDisposedException:" },
        // One feature per request: kept past its request it refuses, whatever requests came since.
        { "IRequestArenaFeature.Allocator after the request", "-", "ObjectDisposedException:" },
        { "IRequestArenaFeature.Allocator after the request and another request", "-", "ObjectDisposedException:" },
        { "GetRequestArena in an outer middleware after UseRequestArena returned", "-", "InvalidOperationException: This request has no arena" },

        // TestServer; ASP.NET Core itself refuses a kept HttpContext (on Kestrel it may already serve another request).
        { "GetRequestArena on the request's HttpContext after the request", "-", "ObjectDisposedException: Request has finished and HttpContext disposed." },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public async Task EntryPoint_BadInput_DocumentedErrorAndStateIntact(string entryPoint, string input, string expected)
    {
        (string outcome, string? damage) = await RunAsync(entryPoint, Parse(input));

        Assert.True(outcome.StartsWith(expected, StringComparison.Ordinal), $"{entryPoint}({input}): got '{outcome}', expected '{expected}'");
        Assert.True(damage is null, $"{entryPoint}({input}): state not intact afterwards: {damage}");
    }

    private static long Parse(string input) => input switch
    {
        "-" => 0,
        "int.MaxValue" => int.MaxValue,
        "int.MinValue" => int.MinValue,
        "long.MaxValue" => long.MaxValue,
        "long.MinValue" => long.MinValue,
        _ => long.Parse(input, CultureInfo.InvariantCulture),
    };

    private static Task<(string, string?)> RunAsync(string entryPoint, long value) => entryPoint switch
    {
        "AddRequestArena SlabSize" => StartAsync(o => o.SlabSize = (int)value),
        "AddRequestArena MaxBytesPerRequest" => StartAsync(o => o.MaxBytesPerRequest = value),
        "AddRequestArena MaxRetainedBytes" => StartAsync(o => o.MaxRetainedBytes = value),
        "AddRequestArena LimitExceededStatusCode" => StartAsync(o => o.LimitExceededStatusCode = (int)value),
        "AddRequestArena TrimInterval (ms)" => StartAsync(o => o.TrimInterval = value == long.MinValue ? TimeSpan.MinValue : TimeSpan.FromMilliseconds(value)),
        "WithRequestArena" => WithRequestArenaAsync(value),
        "[RequestArena(MaxBytes)]" => AttributeAsync(value),
        "AllocateMemory in request" => InRequestAsync((int)value, limit: 0),
        "AllocateMemory in request, limit 64 KiB" => InRequestAsync((int)value, limit: 64 * 1024),
        "AllocateMemory escaping, limit 64 KiB" => EscapingAsync((int)value, limit: 64 * 1024),
        "AllocateMemory escaping" => EscapingAsync((int)value, limit: 0),
        "handle after release: AllocateMemory" => AfterRequestAsync(captured => captured.Handle.AllocateMemory((int)value)),
        "IRequestArenaFeature.Allocator after the request" => AfterRequestAsync(captured => captured.Feature.Allocator),
        "IRequestArenaFeature.Allocator after the request and another request" => AfterRequestAsync(captured => captured.Feature.Allocator, anotherRequestFirst: true),
        "GetRequestArena in an outer middleware after UseRequestArena returned" => OuterMiddlewareAsync(),
        "GetRequestArena on the request's HttpContext after the request" => AfterRequestAsync(captured => captured.Context.GetRequestArena()),
        _ => throw new ArgumentException($"No case for {entryPoint}."),
    };

    // Start-up: the host either refuses to start (and a correctly configured host still starts and serves in this
    // process) or starts and serves an allocating request.
    private static async Task<(string, string?)> StartAsync(Action<RequestArenaOptions> configure)
    {
        ArenaTestHost host;
        try
        {
            host = await ArenaTestHost.StartAsync(MapAllocate, configure);
        }
        catch (Exception ex)
        {
            await using ArenaTestHost valid = await ArenaTestHost.StartAsync(MapAllocate);
            return (Describe(ex), await ServesAsync(valid));
        }

        await using (host)
        {
            return (Accepted, await ServesAsync(host));
        }
    }

    private static async Task<(string, string?)> WithRequestArenaAsync(long maxBytes)
    {
        string outcome = Accepted;
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            RouteHandlerBuilder endpoint = app.MapGet("/alloc/{bytes:int}", Allocate);
            try
            {
                endpoint.WithRequestArena(maxBytes);
            }
            catch (Exception ex)
            {
                outcome = Describe(ex);
            }
        });

        // Refused: no limit was recorded, the endpoint keeps the global (unlimited) one. Accepted: a 1 MiB request fits.
        string body = await host.Client.GetStringAsync("/alloc/1048576");
        return (outcome, body == "1048576" ? null : $"a 1 MiB allocation answered '{body}'");
    }

    private static Task<(string, string?)> AttributeAsync(long maxBytes)
    {
        var attribute = new RequestArenaAttribute { MaxBytes = 4096 };
        string outcome = Accepted;
        try
        {
            attribute.MaxBytes = maxBytes;
        }
        catch (Exception ex)
        {
            outcome = Describe(ex);
        }

        return Task.FromResult<(string, string?)>((outcome, attribute.MaxBytes == 4096 ? null : $"MaxBytes became {attribute.MaxBytes}"));
    }

    // Inside the request: 32 bytes before the bad call, 16 after; both must be served and the first must be unharmed,
    // and the request is recorded with exactly those 48 bytes.
    private static async Task<(string, string?)> InRequestAsync(int size, long limit)
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            RouteHandlerBuilder endpoint = app.MapGet("/bad", (IModuleAllocator arena) =>
            {
                Memory<byte> before = arena.AllocateMemory(32);
                before.Span.Fill(7);
                string outcome = Accepted;
                try
                {
                    arena.AllocateMemory(size);
                }
                catch (Exception ex)
                {
                    outcome = Describe(ex);
                }

                Memory<byte> after = arena.AllocateMemory(16);
                string damage = before.Span.ContainsAnyExcept((byte)7) ? "the earlier allocation changed" : after.Length != 16 ? "the next allocation failed" : "";
                return outcome + "\n" + damage;
            });
            if (limit > 0)
            {
                endpoint.WithRequestArena(limit);
            }
        });

        string[] answer = (await host.Client.GetStringAsync("/bad")).Split('\n');
        await host.WaitForReleasesAsync(1);
        RequestArenaStatisticsSnapshot stats = host.Statistics.GetSnapshot();
        string? damage = answer[1].Length > 0 ? answer[1]
            : stats.Requests != 1 ? $"{stats.Requests} requests were recorded"
            : stats.TotalBytes != 48 + (answer[0] == Accepted ? size : 0) ? $"the request was recorded with {stats.TotalBytes} bytes"
            : stats.Pool.SlabsInUse != 0 ? $"{stats.Pool.SlabsInUse} slabs still in use"
            : null;
        return (answer[0], damage);
    }

    // The bad call escapes the endpoint: the status is the documented one, every slab comes back, and the next
    // request to the same application is served.
    private static async Task<(string, string?)> EscapingAsync(int size, long limit)
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            RouteHandlerBuilder endpoint = app.MapGet("/bad", (IModuleAllocator arena) =>
            {
                arena.AllocateMemory(100).Span.Fill(1);
                return arena.AllocateMemory(size).Length;
            });
            if (limit > 0)
            {
                endpoint.WithRequestArena(limit);
            }

            MapAllocate(app);
        });

        HttpStatusCode status;
        try
        {
            using HttpResponseMessage response = await host.Client.GetAsync("/bad");
            status = response.StatusCode;
        }
        catch (ArgumentOutOfRangeException)
        {
            // TestServer hands an unhandled exception to the client instead of a 500 response.
            status = HttpStatusCode.InternalServerError;
        }

        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 1, "the failed request is released");
        SlabPoolStatistics pool = host.Statistics.GetSnapshot().Pool;
        string? damage = pool.SlabsInUse != 0 ? $"{pool.SlabsInUse} slabs still in use" : await ServesAsync(host);
        return ($"status {(int)status}", damage);
    }

    // The handle, the feature and the HttpContext kept past their request; the application keeps serving others.
    private static async Task<(string, string?)> AfterRequestAsync(Func<Captured, object> use, bool anotherRequestFirst = false)
    {
        Captured? captured = null;
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            app.MapGet("/capture", (HttpContext context, IModuleAllocator arena) =>
            {
                arena.AllocateMemory(64);
                captured = new Captured(arena, context.Features.GetRequiredFeature<IRequestArenaFeature>(), context);
                return "captured";
            });
            MapAllocate(app);
        });

        await host.Client.GetStringAsync("/capture");
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 1, "the capturing request is released");

        // The request is over only once the server has disposed its HttpContext, which comes after every OnCompleted
        // callback, the arena's release among them, and so possibly after the statistics already show the release.
        await Released.WaitUntilAsync(() => IsDisposed(captured!.Context), "the capturing request's HttpContext is disposed");

        // Another request first: on the same connection, so the server may hand it the same HttpContext.
        int requests = 1;
        if (anotherRequestFirst)
        {
            if (await ServesAsync(host) is { } failed)
            {
                return ("the other request failed", failed);
            }

            await host.WaitForReleasesAsync(++requests);
        }

        string outcome = Accepted;
        try
        {
            use(captured!);
        }
        catch (Exception ex)
        {
            outcome = Describe(ex);
        }

        string? damage = await ServesAsync(host);

        // The fresh request is recorded at its release, which can come after its response.
        await host.WaitForReleasesAsync(++requests);
        RequestArenaStatisticsSnapshot stats = host.Statistics.GetSnapshot();
        damage ??= stats.Requests != requests || stats.TotalBytes != 64 + (requests - 1) * 100 ? $"statistics changed: {stats.Requests} requests, {stats.TotalBytes} bytes" : null;
        return (outcome, damage);
    }

    // The request is still running, but it has left the arena middleware: its arena is released and out of reach.
    private static async Task<(string, string?)> OuterMiddlewareAsync()
    {
        string outcome = "not reached";
        Memory<byte> inner = default;
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                app.Use(async (context, next) =>
                {
                    await next(context);
                    try
                    {
                        context.GetRequestArena();
                        outcome = Accepted;
                    }
                    catch (Exception ex)
                    {
                        outcome = Describe(ex);
                    }
                });
                app.UseRouting();
                app.UseRequestArena();
                app.MapGet("/inner", (IModuleAllocator arena) =>
                {
                    inner = arena.AllocateMemory(64);
                    return "inner";
                });
                MapAllocate(app);
            });

        await host.Client.GetStringAsync("/inner");
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 1, "the request is released");
        return (outcome, Released.Is(inner) ? await ServesAsync(host) : "the endpoint's memory outlived the request");
    }

    private static void MapAllocate(WebApplication app) => app.MapGet("/alloc/{bytes:int}", Allocate);

    private static int Allocate(int bytes, IModuleAllocator arena) => arena.AllocateMemory(bytes).Length;

    private static async Task<string?> ServesAsync(ArenaTestHost host)
    {
        string body = await host.Client.GetStringAsync("/alloc/100");
        return body == "100" ? null : $"a fresh request answered '{body}'";
    }

    private static bool IsDisposed(HttpContext context)
    {
        try
        {
            _ = context.Features;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    // One line, so an outcome can travel in a response body ahead of the damage report.
    private static string Describe(Exception ex) => $"{ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}";

    private sealed record Captured(IModuleAllocator Handle, IRequestArenaFeature Feature, HttpContext Context);
}
