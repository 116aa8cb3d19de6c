using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;
using RequestArena;

namespace WebDemo;

/// <summary>
/// <c>POST /api/transform?alloc=arena|pool|new</c>: the body with a–z uppercased, then a newline and the lower-case
/// hex SHA-256 of those uppercased bytes (65 bytes appended in all).
/// </summary>
internal static class TransformEndpoint
{
    public const int SuffixLength = 1 + SHA256.HashSizeInBytes * 2;
    private const int UnknownLengthStart = 4096;

    public static async Task HandleAsync(HttpContext context, DemoCounters counters, long limit)
    {
        string? alloc = QueryValues.Get(context.Request, "alloc");
        if (!AllocModes.TryParse(alloc, out AllocMode mode))
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "Invalid 'alloc'",
                $"'alloc' must be one of arena, pool, new; it was '{alloc}'.");
            return;
        }

        long? declared = context.Request.ContentLength;
        if (declared > limit)
        {
            await TooLargeAsync(context, limit);
            return;
        }

        IModuleAllocator? arena = mode == AllocMode.Arena ? context.GetRequestArena() : null;

        // Not the per-thread ScratchBuffers: this endpoint awaits while it holds its buffers.
        var scratch = new ScratchBuffers();
        scratch.Begin(mode, arena);
        try
        {
            Memory<byte> buffer = await ReadBodyAsync(context.Request.BodyReader, scratch, declared, limit);
            if (buffer.IsEmpty)
            {
                await TooLargeAsync(context, limit);
                return;
            }

            int length = buffer.Length - SuffixLength;
            Span<byte> span = buffer.Span;
            AsciiUpper.InPlace(span[..length]);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(span[..length], hash);
            span[length] = (byte)'\n';
            Hex.Lower(hash, span[(length + 1)..]);

            HttpResponse response = context.Response;
            response.ContentType = "application/octet-stream";
            response.ContentLength = buffer.Length;
            response.Headers[HeaderNames.CacheControl] = "no-store";
            await response.BodyWriter.WriteAsync(buffer);
        }
        finally
        {
            counters.Record(mode, scratch.BytesRequested);
            scratch.End();
        }
    }

    // Returns the body followed by SuffixLength spare bytes, or empty when the body is over the limit.
    private static async Task<Memory<byte>> ReadBodyAsync(PipeReader reader, ScratchBuffers scratch, long? declared, long limit)
    {
        // A declared length gets one exact buffer; otherwise it grows by doubling (the old one is simply abandoned).
        Memory<byte> buffer = scratch.Get((int)(declared ?? Math.Min(UnknownLengthStart, limit)) + SuffixLength);
        int filled = 0;
        while (true)
        {
            ReadResult read = await reader.ReadAsync();
            ReadOnlySequence<byte> data = read.Buffer;
            if (filled + data.Length > limit)
            {
                reader.AdvanceTo(data.End);
                return Memory<byte>.Empty;
            }

            if (filled + data.Length + SuffixLength > buffer.Length)
            {
                int size = (int)Math.Min(Math.Max((long)buffer.Length * 2, filled + data.Length + SuffixLength), limit + SuffixLength);
                Memory<byte> larger = scratch.Get(size);
                buffer[..filled].CopyTo(larger);
                buffer = larger;
            }

            data.CopyTo(buffer.Span[filled..]);
            filled += (int)data.Length;
            reader.AdvanceTo(data.End);
            if (read.IsCompleted)
            {
                return buffer[..(filled + SuffixLength)];
            }
        }
    }

    private static Task TooLargeAsync(HttpContext context, long limit) =>
        Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "Body too large",
            $"/api/transform accepts at most {limit} bytes (Demo:TransformMaxBodyBytes).");
}
