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
        endpoints.MapGet("/api/adapters/bidi", BidiAsync);
        endpoints.MapGet("/api/adapters/rpc", RpcAsync);
        return endpoints;
    }

    // RouterAllocBidiMem/RouterFreeBidiMem: strings and blobs that can be freed one by one, reclaimed with the request.
    private static async Task BidiAsync(HttpContext context)
    {
        string text = QueryValues.Get(context.Request, "text") ?? "Grüße, bidi!";
        using var bidi = new BidiAllocator(context.GetRequestArena());

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
    private static async Task RpcAsync(HttpContext context)
    {
        int size = 256;
        using var environment = new RpcScopeEnvironment(context.GetRequestArena());
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
        var done = new TaskCompletionSource<(Memory<byte> Without, RpcStatus WithoutStatus, Memory<byte> With, RpcStatus WithStatus)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Thread thread;
        using (ExecutionContext.SuppressFlow())
        {
            thread = new Thread(() =>
            {
                // Nothing flowed: this thread has no environment until it is handed one.
                Memory<byte> without = RpcScopeAllocator.Allocate(size, out RpcStatus withoutStatus);
                RpcScopeAllocator.SetThreadHandle(handle);
                Memory<byte> with = RpcScopeAllocator.Allocate(size, out RpcStatus withStatus);
                with.Span.Fill((byte)'N');
                RpcScopeAllocator.SetThreadHandle(null);
                done.SetResult((without, withoutStatus, with, withStatus));
            })
            { IsBackground = true, Name = "rpc-demo" };
            thread.Start();
        }

        var onThread = await done.Task;
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
