using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using RequestArena;

namespace WebDemo;

/// <summary>
/// <c>GET /api/report?items=N&amp;alloc=arena|pool|new</c>: <c>{"count":N,"items":[...],"itemsSha256":"..."}</c>,
/// written by <see cref="Utf8JsonWriter"/> into an <see cref="ArenaBufferWriter"/>; the hash covers the exact UTF-8
/// bytes of the <c>items</c> array. The content depends only on N, so every mode sends the same bytes.
/// </summary>
internal static class ReportEndpoint
{
    public const int MinItems = 1;
    public const int MaxItems = 10_000;
    public const int DefaultItems = 100;

    /// <summary>The endpoint's arena quota: the largest report takes about 1 MiB of blocks.</summary>
    public const long ArenaQuota = 4L * 1024 * 1024;

    // About what one item takes in the output, so a small report fits the first block.
    private const int BytesPerItemEstimate = 80;

    // Blocks of at most 32 KiB (the writer doubles up to 64 KiB from there): arena blocks stay inside a 64 KiB slab
    // and fresh arrays off the large object heap, so each mode is measured on its ordinary path.
    private const int MaxFirstBlock = 32 * 1024;

    private static readonly byte[][] s_adjectives =
        ["Agile"u8.ToArray(), "Brisk"u8.ToArray(), "Calm"u8.ToArray(), "Deft"u8.ToArray(), "Eager"u8.ToArray(), "Fleet"u8.ToArray(), "Grand"u8.ToArray()];

    private static readonly byte[][] s_nouns =
        ["Anchor"u8.ToArray(), "Beacon"u8.ToArray(), "Cable"u8.ToArray(), "Dynamo"u8.ToArray(), "Engine"u8.ToArray(), "Falcon"u8.ToArray(), "Gear"u8.ToArray(), "Harbor"u8.ToArray(), "Ion"u8.ToArray(), "Jet"u8.ToArray(), "Kite"u8.ToArray()];

    private static readonly byte[][] s_tags =
        ["new"u8.ToArray(), "sale"u8.ToArray(), "eco"u8.ToArray(), "bulk"u8.ToArray(), "gift"u8.ToArray(), "rare"u8.ToArray(), "fast"u8.ToArray(), "cold"u8.ToArray()];

    public static RouteHandlerBuilder MapReport(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/api/report", GetReport).WithRequestArena(ArenaQuota);

    /// <summary>
    /// The report for hosts that run a bare middleware pipeline without endpoint routing (the benchmarks): the same
    /// handler, its arguments taken from <paramref name="context"/>, the pooled arrays returned at the response's end.
    /// </summary>
    public static Task HandleAsync(HttpContext context, DemoCounters counters)
    {
        var pool = new ArrayPoolAllocator();
        context.Response.RegisterForDispose(pool);
        IQueryCollection query = context.Request.Query;
        return GetReport(query["items"], query["alloc"], context.GetRequestArena(), pool, counters).ExecuteAsync(context);
    }

    private static Results<SequenceResult, ValidationProblem> GetReport(
        string? items, string? alloc, IModuleAllocator arena, ArrayPoolAllocator pool, DemoCounters counters)
    {
        if (!QueryParameters.TryParseCount(items, "items", MinItems, MaxItems, DefaultItems, out int count, out ValidationProblem? problem)
            || !QueryParameters.TryParseMode(alloc, AllocModes.Allocators, out AllocMode mode, out problem))
        {
            return problem;
        }

        var buffers = new CountingAllocator(BufferSources.Select(mode, arena, pool));
        var output = new ArenaBufferWriter(buffers, Math.Min(64 + count * BytesPerItemEstimate, MaxFirstBlock));
        Write(output, count);
        counters.Record(mode, buffers.BytesRequested);
        return new SequenceResult(output.WrittenSequence, "application/json");
    }

    internal static void Write(ArenaBufferWriter output, int count)
    {
        Span<byte> name = stackalloc byte[64];
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteNumber("count"u8, count);
        json.WritePropertyName("items"u8);
        json.Flush();
        long start = output.WrittenCount;

        json.WriteStartArray();
        for (int id = 1; id <= count; id++)
        {
            WriteItem(json, id, name);
        }

        json.WriteEndArray();
        json.Flush();

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        Sha256(output.WrittenSequence.Slice(start), hash);
        json.WriteString("itemsSha256"u8, Convert.ToHexStringLower(hash));
        json.WriteEndObject();
    }

    private static void Sha256(ReadOnlySequence<byte> bytes, Span<byte> hash)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (ReadOnlyMemory<byte> segment in bytes)
        {
            sha.AppendData(segment.Span);
        }

        sha.GetHashAndReset(hash);
    }

    private static void WriteItem(Utf8JsonWriter json, int id, Span<byte> name)
    {
        json.WriteStartObject();
        json.WriteNumber("id"u8, id);
        json.WriteString("name"u8, Name(id, name));

        // Prices in cents with two decimals, spread out but fixed by the id.
        long cents = (id * 7919L) % 99_900 + 100;
        json.WriteNumber("price"u8, new decimal((int)cents, 0, 0, false, 2));

        json.WritePropertyName("tags"u8);
        json.WriteStartArray();
        int tagCount = id % 3 + 1;
        for (int k = 0; k < tagCount; k++)
        {
            json.WriteStringValue(s_tags[(id * 31 + k * 17) % s_tags.Length]);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static ReadOnlySpan<byte> Name(int id, Span<byte> buffer)
    {
        byte[] adjective = s_adjectives[id % s_adjectives.Length];
        byte[] noun = s_nouns[id % s_nouns.Length];
        int at = 0;
        adjective.CopyTo(buffer);
        at += adjective.Length;
        buffer[at++] = (byte)' ';
        noun.CopyTo(buffer[at..]);
        at += noun.Length;
        buffer[at++] = (byte)' ';
        Utf8Formatter.TryFormat(id, buffer[at..], out int written, new StandardFormat('D', 5));
        return buffer[..(at + written)];
    }
}
