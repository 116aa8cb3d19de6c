using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RequestArena;
using RequestArena.Adapters;

namespace WebDemo;

/// <summary>One endpoint per adapter that has landed: what each API shape looks like over the request arena.</summary>
internal static class AdapterEndpoints
{
    public static IEndpointRouteBuilder MapAdapterDemos(this IEndpointRouteBuilder endpoints)
    {
        RouteGroupBuilder adapters = endpoints.MapGroup("/api/adapters");
        adapters.MapGet("/bidi", BidiAsync);
        adapters.MapGet("/rpc", RpcAsync);
        adapters.MapGet("/ndis", NdisAsync);

        // Its arena is on its own shared-memory slab pool, not the request's.
        adapters.MapGet("/shared-slab", SharedSlabAsync).DisableRequestArena();
        return endpoints;
    }

    // RouterAllocBidiMem/RouterFreeBidiMem: strings and blobs that can be freed one by one, reclaimed with the request.
    private static async Task BidiAsync(HttpContext context, IModuleAllocator arena, string? text)
    {
        text ??= "Grüße, bidi!";
        using var bidi = new BidiAllocator(arena);

        BidiBlock utf16 = bidi.AllocateUtf16String(text);
        BidiBlock utf8 = bidi.AllocateUtf8String(text);
        byte[] payload = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        BidiBlock blob = bidi.AllocateBlob(payload);
        int liveBefore = bidi.LiveBlocks;

        // Freeing a block makes its slot reusable within the request; freeing it again is refused, as on Windows.
        bool freed = bidi.Free(utf8);
        bool freedTwice = bidi.Free(utf8);
        Win32Error afterDoubleFree = BidiAllocator.GetLastError();
        BidiBlock again = bidi.AllocateUtf8String(text);

        await WriteJsonAsync(context, json =>
        {
            json.WriteString("text", text);
            json.WriteStartObject("utf16");
            json.WriteNumber("bytes", utf16.Length);
            json.WriteString("readBack", utf16.ReadUtf16String());
            json.WriteEndObject();
            json.WriteStartObject("utf8");
            json.WriteNumber("bytes", again.Length);
            json.WriteString("readBack", again.ReadUtf8String());
            json.WriteEndObject();
            json.WriteStartObject("blob");
            json.WriteNumber("bytes", blob.Length);
            json.WriteString("hex", Convert.ToHexStringLower(blob.Span));
            json.WriteEndObject();
            json.WriteNumber("liveBlocksBeforeFree", liveBefore);
            json.WriteBoolean("freed", freed);
            json.WriteBoolean("freedTwice", freedTwice);
            json.WriteString("lastErrorAfterDoubleFree", afterDoubleFree.ToString());
            json.WriteNumber("lastErrorCode", (int)afterDoubleFree);
            json.WriteNumber("liveBlocks", bidi.LiveBlocks);
            json.WriteNumber("totalBlocks", bidi.TotalBlocks);
        });
    }

    // RpcSm*: one environment per request, reached from the request flow, from Task.Run (the context flows) and from
    // a new thread that does not inherit it and is handed the handle the Windows way (GetThreadHandle/SetThreadHandle).
    // The new threads are bounded: with every slot taken the request is refused at once.
    private static async Task<IResult> RpcAsync(HttpContext context, IModuleAllocator arena, RpcDemoThreads threads)
    {
        if (!threads.TryEnter())
        {
            context.Response.Headers.RetryAfter = "1";
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "RPC demo busy",
                detail: $"At most {threads.Limit} rpc-demo threads run at once (Demo:RpcMaxThreads); retry shortly.");
        }

        try
        {
            await RpcCoreAsync(context, arena, threads);
            return TypedResults.Empty;
        }
        finally
        {
            threads.Exit();
        }
    }

    private static async Task RpcCoreAsync(HttpContext context, IModuleAllocator arena, RpcDemoThreads threads)
    {
        int size = 256;
        using var environment = new RpcScopeEnvironment(arena);
        RpcScopeAllocator.SetThreadHandle(environment);
        var results = new List<(string Where, RpcStatus Status, int Bytes, bool Kept)>();

        Memory<byte> onRequest = RpcScopeAllocator.Allocate(size, out RpcStatus status);
        onRequest.Span.Fill((byte)'R');
        results.Add(("request", status, onRequest.Length, true));

        Memory<byte> onTaskRun = await Task.Run(() =>
        {
            Memory<byte> m = RpcScopeAllocator.Allocate(size, out RpcStatus s);
            m.Span.Fill((byte)'T');
            lock (results)
            {
                results.Add(("Task.Run", s, m.Length, true));
            }

            return m;
        });

        RpcScopeEnvironment? handle = RpcScopeAllocator.GetThreadHandle(out _);
        var onThread = await threads.RunOnNewThread(() =>
        {
            // Nothing flowed: this thread has no environment until it is handed one.
            Memory<byte> without = RpcScopeAllocator.Allocate(size, out RpcStatus withoutStatus);
            RpcScopeAllocator.SetThreadHandle(handle);
            Memory<byte> with = RpcScopeAllocator.Allocate(size, out RpcStatus withStatus);
            with.Span.Fill((byte)'N');
            RpcScopeAllocator.SetThreadHandle(null);
            return (Without: without, WithoutStatus: withoutStatus, With: with, WithStatus: withStatus);
        });
        results.Add(("new Thread without handle", onThread.WithoutStatus, onThread.Without.Length, false));
        results.Add(("new Thread after SetThreadHandle", onThread.WithStatus, onThread.With.Length, true));
        RpcScopeAllocator.SetThreadHandle(null);

        // Every piece is still readable from the request and holds what its thread wrote.
        string contents = $"{(char)onRequest.Span[0]}{(char)onTaskRun.Span[0]}{(char)onThread.With.Span[0]}";
        await WriteJsonAsync(context, json =>
        {
            json.WriteStartArray("allocations");
            foreach (var (where, s, bytes, _) in results)
            {
                json.WriteStartObject();
                json.WriteString("where", where);
                json.WriteString("status", s.ToString());
                json.WriteNumber("code", (int)s);
                json.WriteNumber("bytes", bytes);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("firstBytes", contents);
        });
    }

    // NdisAllocateMemoryWithTag-style flags over the request arena: plain, contiguous, non-cached, and in blocks.
    private static async Task NdisAsync(HttpContext context, IModuleAllocator arena)
    {
        using var ndis = new NdisMemoryAllocator(arena);
        var rows = new List<(string Name, SlabProviderStatus Status, int Length, int Blocks, bool CacheAligned)>();
        foreach ((string name, int length, NdisMemoryFlags flags) in new[]
        {
            ("none", 1500, NdisMemoryFlags.None),
            ("contiguous", 64 * 1024, NdisMemoryFlags.Contiguous),
            ("nonCached", 4096, NdisMemoryFlags.NonCached),
            ("contiguous|nonCached", 8192, NdisMemoryFlags.Contiguous | NdisMemoryFlags.NonCached),
        })
        {
            SlabProviderStatus status = ndis.AllocateMemory(out Memory<byte> memory, length, flags);
            rows.Add((name, status, memory.Length, 1, status == SlabProviderStatus.Success && IsCacheAligned(memory)));
        }

        SlabProviderStatus blocksStatus = ndis.AllocateMemoryInBlocks(200 * 1024, NdisMemoryFlags.None, 16 * 1024, out Memory<byte>[] blocks);
        rows.Add(("inBlocks", blocksStatus, blocks.Sum(b => b.Length), blocks.Length, blocks.All(IsCacheAligned)));

        await WriteJsonAsync(context, json =>
        {
            json.WriteStartArray("allocations");
            foreach (var row in rows)
            {
                json.WriteStartObject();
                json.WriteString("flags", row.Name);
                json.WriteString("status", row.Status.ToString());
                json.WriteNumber("bytes", row.Length);
                json.WriteNumber("blocks", row.Blocks);
                json.WriteBoolean("cacheLineAligned", row.CacheAligned);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNumber("blocksInUse", ndis.BlocksInUse);
            json.WriteNumber("nativeBytesInUse", ndis.NativeBytesInUse);
        });
    }

    private static unsafe bool IsCacheAligned(Memory<byte> memory)
    {
        using System.Buffers.MemoryHandle pin = memory.Pin();
        return ((nint)pin.Pointer & (NdisMemoryAllocator.CacheLineSize - 1)) == 0;
    }

    // An arena on slabs that are named shared-memory blocks: what it writes is read back through a second mapping of
    // the block opened by name, as another process would.
    private static async Task SharedSlabAsync(HttpContext context, SharedSlabDemo shared, string? text)
    {
        text ??= "written by the arena, read through the mapping";
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        using var arena = new Arena(shared.Pool);
        Memory<byte> memory = arena.AllocateMemory(utf8.Length);
        utf8.CopyTo(memory.Span);

        bool located = shared.Slabs.TryLocate(memory, out SharedMemoryHandle? handle, out long offset);
        string? readBack = null;
        if (located && handle is not null)
        {
            using SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(handle.Name, shared.Provider.Directory);
            readBack = Encoding.UTF8.GetString(mapping.GetSpan(offset, utf8.Length));
        }

        await WriteJsonAsync(context, json =>
        {
            json.WriteString("text", text);
            json.WriteBoolean("located", located);
            json.WriteString("blockName", handle?.Name);
            json.WriteNumber("offset", offset);
            json.WriteString("readThroughMapping", readBack);
            json.WriteNumber("sharedBlocksInUse", shared.Provider.BlocksInUse);
        });
    }

    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> body)
    {
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync();
    }
}
