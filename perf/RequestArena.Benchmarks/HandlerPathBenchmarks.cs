using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RequestArena.Adapters;
using RequestArena.AspNetCore;

namespace RequestArena.Benchmarks;

/// <summary>
/// Every path a handler takes to arena memory, 1000 allocations of 32 bytes per operation, beside the raw arena
/// (the baseline, reset after its 1000 allocations), <c>new byte[32]</c> and ArrayPool (all rented, then all
/// returned) in the same run. Each "request:" row is one whole request through the real UseRequestArena middleware,
/// released as the server releases it (<see cref="InProcessRequests"/>), so its ratio is what the path costs a
/// handler against the bare arena, request included. The writer and the pipe move the same 32 KB in 32-byte steps;
/// each has a twin over the framework's usual buffers so the path's own cost can be told from the writer's or pipe's.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class HandlerPathBenchmarks
{
    private const int Count = 1000;
    private const int Size = 32;
    private const string RecordsPath = "/records";
    private const string RawRecordsPath = "/records-raw";
    private const string InlineRecordsPath = "/records-inline";
    private const string InlineRawRecordsPath = "/records-inline-raw";
    private const string CursorRecordsPath = "/records-cursor";
    private const string OneRecordPath = "/records-one";
    private static Arena s_rawArena = null!;
    private static IModuleAllocator s_rawAllocator = null!;

    // A JSON string token of exactly Size bytes with its quotes.
    private static readonly string Token = new('x', Size - 2);

    private static long s_sink;

    private readonly byte[][] _held = new byte[Count][];
    private SlabPool _pool = null!;
    private Arena _arena = null!;

    // The same arena typed as the interface, so the JIT knows no more of it than of a handler's injected allocator.
    private IModuleAllocator _arenaAsInterface = null!;
    private ServiceProvider _services = null!;
    private RequestArenaRuntime _runtime = null!;
    private readonly DefaultHttpContext _context = new();
    private InProcessRequests _getRequestArena = null!;
    private InProcessRequests _oneAllocation = null!;
    private InProcessRequests _minimalApi = null!;
    private InProcessRequests _minimalApiRaw = null!;
    private InProcessRequests _minimalApiInline = null!;
    private InProcessRequests _minimalApiInlineRaw = null!;
    private InProcessRequests _minimalApiCursor = null!;
    private InProcessRequests _minimalApiOne = null!;
    private InProcessRequests _jsonWriter = null!;
    private InProcessRequests _pipe = null!;
    private InProcessRequests _bidi = null!;
    private InProcessRequests _rpc = null!;
    private InProcessRequests _ndis = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pool = new SlabPool(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan });

        // The middleware's defaults: zeroed, use after release detected.
        _arena = new Arena(_pool);
        _arenaAsInterface = _arena;

        var services = new ServiceCollection();
        services.AddSingleton(new DiagnosticListener("RequestArena.Benchmarks"));
        services.AddRouting();
        services.AddRequestArena();
        services.AddRequestArenaAdapters();
        _services = services.BuildServiceProvider();
        _runtime = _services.GetRequiredService<RequestArenaRuntime>();

        var routed = new ApplicationBuilder(_services);
        routed.UseRouting();
        routed.UseRequestArena();
        routed.UseEndpoints(endpoints =>
        {
            endpoints.MapGet(RecordsPath, static (IModuleAllocator allocator) => s_sink = AllocateAll(allocator));

            // The same request with one allocation: its fixed cost (routing, binding, the allocator from the request's
            // services, the arena rented and released), so the row above can be read per allocation.
            endpoints.MapGet(OneRecordPath, static (IModuleAllocator allocator) => s_sink = allocator.AllocateMemory(Size).Length);

            // The same handler taking a cursor from its allocator for the loop.
            endpoints.MapGet(CursorRecordsPath, static (IModuleAllocator allocator) => s_sink = AllocationLoops.ThroughCursor((IArenaAllocator)allocator, Count, Size));

            // The same loop written inside the lambda, as a handler with nothing to factor out would have it.
            endpoints.MapGet(InlineRecordsPath, static (IModuleAllocator allocator) =>
            {
                long total = 0;
                for (int i = 0; i < Count; i++)
                {
                    total += allocator.AllocateMemory(Size).Length;
                }

                s_sink = total;
            });

            // The same handler over a raw arena (reset by the handler, as the middleware would release it): what the
            // request around the loop costs an allocator that is not the request's handle.
            endpoints.MapGet(RawRecordsPath, static () =>
            {
                s_sink = AllocateAll(s_rawAllocator);
                s_rawArena.Reset();
            }).DisableRequestArena();

            // And inside the lambda over the raw arena, to compare the handle with the arena in that shape too.
            endpoints.MapGet(InlineRawRecordsPath, static () =>
            {
                IModuleAllocator allocator = s_rawAllocator;
                long total = 0;
                for (int i = 0; i < Count; i++)
                {
                    total += allocator.AllocateMemory(Size).Length;
                }

                s_sink = total;
                s_rawArena.Reset();
            }).DisableRequestArena();
        });
        RequestDelegate routedApp = routed.Build();
        _minimalApi = new InProcessRequests(_services, routedApp, RecordsPath, endpoint: null);
        s_rawArena = new Arena(_pool);
        s_rawAllocator = s_rawArena;
        _minimalApiRaw = new InProcessRequests(_services, routedApp, RawRecordsPath, endpoint: null);
        _minimalApiInline = new InProcessRequests(_services, routedApp, InlineRecordsPath, endpoint: null);
        _minimalApiInlineRaw = new InProcessRequests(_services, routedApp, InlineRawRecordsPath, endpoint: null);
        _minimalApiCursor = new InProcessRequests(_services, routedApp, CursorRecordsPath, endpoint: null);
        _minimalApiOne = new InProcessRequests(_services, routedApp, OneRecordPath, endpoint: null);

        _getRequestArena = Request(static context =>
        {
            s_sink = AllocateAllThroughContext(context);
            return Task.CompletedTask;
        });
        // The request's fixed cost (an arena rented, one allocation, the release as the server does it), so that the
        // rows above it can be read per allocation: (row - this) / (Count - 1).
        _oneAllocation = Request(static context =>
        {
            s_sink = context.GetRequestArena().AllocateMemory(Size).Length;
            return Task.CompletedTask;
        });
        _jsonWriter = Request(static context =>
        {
            var output = new ArenaBufferWriter(context.GetRequestArena());
            s_sink = WriteJson(output) == output.WrittenCount ? output.WrittenCount : -1;
            return Task.CompletedTask;
        });
        _pipe = Request(static context => PipeAsync(new ArenaMemoryPool(context.GetRequestArena())));
        _bidi = Request(static context =>
        {
            BidiAllocator bidi = context.GetBidiAllocator();
            long total = 0;
            for (int i = 0; i < Count; i++)
            {
                total += bidi.Allocate(Size).Length;
            }

            s_sink = total;
            return Task.CompletedTask;
        });
        _rpc = Request(static context =>
        {
            RpcScopeEnvironment rpc = context.GetRpcScopeEnvironment();
            long total = 0;
            for (int i = 0; i < Count; i++)
            {
                total += rpc.Allocate(Size, out RpcStatus status).Length + (int)status;
            }

            s_sink = total;
            return Task.CompletedTask;
        });
        _ndis = Request(static context =>
        {
            NdisMemoryAllocator ndis = context.GetNdisMemoryAllocator();
            long total = 0;
            for (int i = 0; i < Count; i++)
            {
                total += ndis.AllocateMemory(out Memory<byte> memory, Size, NdisMemoryFlags.None) == SlabProviderStatus.Success ? memory.Length : 0;
            }

            s_sink = total;
            return Task.CompletedTask;
        });

        // A path that failed (a 404 from routing, a refused adapter, a short count) must not be timed as a fast one.
        long allocated = (long)Count * Size;
        Check("raw arena", () => Sync(RawArena()), allocated);
        Check("raw arena through the interface", () => Sync(RawArenaThroughInterface()), allocated);
        Check("handle alone", () => Sync(HandleAlone()), allocated);
        Check("GetRequestArena()", GetRequestArena, allocated, _getRequestArena);
        Check("minimal API", MinimalApiInjected, allocated, _minimalApi);
        Check("minimal API over a raw arena", MinimalApiRawArena, allocated, _minimalApiRaw);
        Check("minimal API, cursor", MinimalApiCursor, allocated, _minimalApiCursor);
        Check("minimal API, loop inside the lambda", MinimalApiInlineLoop, allocated, _minimalApiInline);
        Check("minimal API, loop inside the lambda, raw arena", MinimalApiInlineLoopRawArena, allocated, _minimalApiInlineRaw);
        Check("one allocation", OneAllocation, Size, _oneAllocation);
        Check("minimal API, one allocation", MinimalApiOneAllocation, Size, _minimalApiOne);
        Check("JSON over ArenaBufferWriter", JsonOverArenaBufferWriter, JsonLength, _jsonWriter);
        Check("JSON over ArrayBufferWriter", () => Sync(JsonOverArrayBufferWriter()), JsonLength);
        Check("pipe over ArenaMemoryPool", PipeOverArenaMemoryPool, allocated, _pipe);
        Check("pipe over the shared pool", PipeOverSharedPool, allocated);
        Check("bidi", Bidi, allocated, _bidi);
        Check("RPC", Rpc, allocated, _rpc);
        Check("NDIS", Ndis, allocated, _ndis);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _arena.Dispose();
        s_rawArena.Dispose();
        _services.Dispose();
        _pool.Dispose();
    }

    // The JSON every writer row produces: an array of Count tokens of Size bytes, comma-separated.
    private static long JsonLength => 2 + (long)Count * Size + (Count - 1);

    [Benchmark(Baseline = true, Description = "raw Arena + Reset")]
    public long RawArena() => AllocationLoops.ArenaThenReset(_arena, Count, Size);

    [Benchmark(Description = "raw Arena through IModuleAllocator + Reset")]
    public long RawArenaThroughInterface() => AllocationLoops.ArenaThroughInterfaceThenReset(_arenaAsInterface, _arena, Count, Size);

    [Benchmark(Description = "handle alone: rent, 1000 allocations, release (no pipeline)")]
    public long HandleAlone()
    {
        // The request's handle as the middleware creates it, without the request around it: what the handle itself adds
        // to the arena's fast path, with the renting and releasing of the pooled arena as the only fixed cost.
        IModuleAllocator handle = new RequestArenaAllocator(_runtime, _context, endpoint: null, maxBytes: 0);
        long total = 0;
        for (int i = 0; i < Count; i++)
        {
            total += handle.AllocateMemory(Size).Length;
        }

        ((RequestArenaAllocator)handle).Release();
        return total;
    }

    [Benchmark(Description = "new byte[32]")]
    public long NewArray() => AllocationLoops.NewArrays(_held, Size);

    [Benchmark(Description = "ArrayPool, rent all then return all")]
    public long ArrayPoolRentAllReturnAll() => AllocationLoops.ArrayPoolHoldAllThenReturn(_held, Size);

    [Benchmark(Description = "request: GetRequestArena() per allocation")]
    public Task GetRequestArena() => _getRequestArena.RunAsync();

    [Benchmark(Description = "request: minimal API, injected IModuleAllocator")]
    public Task MinimalApiInjected() => _minimalApi.RunAsync();

    [Benchmark(Description = "request: minimal API, ArenaCursor from the injected allocator")]
    public Task MinimalApiCursor() => _minimalApiCursor.RunAsync();

    [Benchmark(Description = "request: minimal API, the loop inside the lambda")]
    public Task MinimalApiInlineLoop() => _minimalApiInline.RunAsync();

    [Benchmark(Description = "request: minimal API, the loop inside the lambda, over a raw Arena")]
    public Task MinimalApiInlineLoopRawArena() => _minimalApiInlineRaw.RunAsync();

    [Benchmark(Description = "request: minimal API, the same handler over a raw Arena")]
    public Task MinimalApiRawArena() => _minimalApiRaw.RunAsync();

    [Benchmark(Description = "request: one allocation (the request's fixed cost)")]
    public Task OneAllocation() => _oneAllocation.RunAsync();

    [Benchmark(Description = "request: minimal API, injected IModuleAllocator, one allocation (its fixed cost)")]
    public Task MinimalApiOneAllocation() => _minimalApiOne.RunAsync();

    [Benchmark(Description = "request: Utf8JsonWriter over ArenaBufferWriter")]
    public Task JsonOverArenaBufferWriter() => _jsonWriter.RunAsync();

    [Benchmark(Description = "Utf8JsonWriter over ArrayBufferWriter (new)")]
    public long JsonOverArrayBufferWriter() => WriteJson(new ArrayBufferWriter<byte>());

    [Benchmark(Description = "request: Pipe over ArenaMemoryPool")]
    public Task PipeOverArenaMemoryPool() => _pipe.RunAsync();

    [Benchmark(Description = "Pipe over MemoryPool<byte>.Shared")]
    public Task PipeOverSharedPool() => PipeAsync(MemoryPool<byte>.Shared);

    [Benchmark(Description = "request: BidiAllocator")]
    public Task Bidi() => _bidi.RunAsync();

    [Benchmark(Description = "request: RpcScopeEnvironment")]
    public Task Rpc() => _rpc.RunAsync();

    [Benchmark(Description = "request: NdisMemoryAllocator")]
    public Task Ndis() => _ndis.RunAsync();

    // The handler's loop, one method for every row that runs it, so each row times the same code.
    private static long AllocateAll(IModuleAllocator allocator)
    {
        long total = 0;
        for (int i = 0; i < Count; i++)
        {
            total += allocator.AllocateMemory(Size).Length;
        }

        return total;
    }

    private static long AllocateAllThroughContext(HttpContext context)
    {
        long total = 0;
        for (int i = 0; i < Count; i++)
        {
            total += context.GetRequestArena().AllocateMemory(Size).Length;
        }

        return total;
    }

    private static Task Sync(long result)
    {
        s_sink = result;
        return Task.CompletedTask;
    }

    private static void Check(string name, Func<Task> run, long expected, InProcessRequests? requests = null)
    {
        s_sink = 0;
        run().GetAwaiter().GetResult();
        if (s_sink != expected || requests?.Context.Response.StatusCode is { } status && status != StatusCodes.Status200OK)
        {
            throw new InvalidOperationException($"{name}: {s_sink} bytes through the path (expected {expected}), status {requests?.Context.Response.StatusCode}.");
        }
    }

    private InProcessRequests Request(RequestDelegate handler)
    {
        var app = new ApplicationBuilder(_services);
        app.UseRequestArena();
        app.Run(handler);

        // As after routing: the endpoint is selected before the middleware runs.
        return new InProcessRequests(_services, app.Build(), "/", new Endpoint(handler, EndpointMetadataCollection.Empty, "handler path"));
    }

    private static long WriteJson(IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        writer.WriteStartArray();
        for (int i = 0; i < Count; i++)
        {
            writer.WriteStringValue(Token);
        }

        writer.WriteEndArray();
        writer.Flush();
        return writer.BytesCommitted;
    }

    // 1000 writes of 32 bytes through a pipe whose segments are 32 bytes (each write is one rent from the pool),
    // flushed every 32 writes and read to the end, as a handler streaming small pieces through a PipeReader would.
    private static async Task PipeAsync(MemoryPool<byte> pool)
    {
        var pipe = new Pipe(new PipeOptions(pool, minimumSegmentSize: Size, pauseWriterThreshold: 0, useSynchronizationContext: false));
        long read = 0;
        for (int i = 0; i < Count; i++)
        {
            pipe.Writer.GetSpan(Size)[..Size].Fill((byte)i);
            pipe.Writer.Advance(Size);
            if (i % 32 == 31)
            {
                await pipe.Writer.FlushAsync();
                read += await DrainAsync(pipe.Reader);
            }
        }

        await pipe.Writer.CompleteAsync();
        read += await DrainAsync(pipe.Reader);
        await pipe.Reader.CompleteAsync();
        s_sink = read;
    }

    private static async ValueTask<long> DrainAsync(PipeReader reader)
    {
        long read = 0;
        while (reader.TryRead(out ReadResult result))
        {
            read += result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.End);
            if (result.Buffer.IsEmpty || result.IsCompleted)
            {
                break;
            }
        }

        return read;
    }
}
