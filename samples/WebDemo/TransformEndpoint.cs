using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.IO;
using RequestArena;

namespace WebDemo;

/// <summary>
/// <c>POST /api/transform?alloc=arena|pool|new|recyclable</c>: the body with a–z uppercased, then a newline and the
/// lower-case hex SHA-256 of those uppercased bytes (65 bytes appended in all).
/// </summary>
/// <remarks>
/// The body is transformed as it arrives, into buffers that grow with the bytes actually received: a declared
/// <c>Content-Length</c> is only checked against the limit, never allocated up front, so a client that sends its
/// headers and stalls holds no buffer at all.
/// </remarks>
internal static class TransformEndpoint
{
    public const int SuffixLength = 1 + SHA256.HashSizeInBytes * 2;

    public static readonly AllocMode[] Modes = AllocModes.All;

    public static RouteHandlerBuilder MapTransform(this IEndpointRouteBuilder endpoints, long maxBodyBytes) =>
        // Blocks double up to 64 KiB, so what the arena holds for a body stays under twice its size plus a slab.
        endpoints.MapPost("/api/transform", TransformAsync).WithRequestArena(2 * maxBodyBytes + 256 * 1024);

    private static async Task<Results<SequenceResult, ValidationProblem, ProblemHttpResult>> TransformAsync(
        HttpRequest request,
        string? alloc,
        IModuleAllocator arena,
        ArrayPoolAllocator pool,
        RecyclableMemoryStreamManager streams,
        DemoCounters counters,
        IOptions<DemoOptions> options,
        CancellationToken cancellationToken)
    {
        if (!QueryParameters.TryParseMode(alloc, Modes, out AllocMode mode, out ValidationProblem? problem))
        {
            return problem;
        }

        long limit = options.Value.TransformMaxBodyBytes;
        if (request.ContentLength > limit)
        {
            return TooLarge(limit);
        }

        // The demo's limit is the one that applies (up to 256 MiB), enforced by the reader below on the body's own
        // bytes with its own 413. The server's cap would apply its default of about 28.6 MiB, and it counts a chunked
        // body's framing too, so a chunked body well within the limit would be refused.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = null;
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ReadOnlySequence<byte> body;
        if (mode == AllocMode.Recyclable)
        {
            // Disposed after the response has been sent: its blocks are the response body until then.
            RecyclableMemoryStream stream = streams.GetStream("transform");
            request.HttpContext.Response.RegisterForDispose(stream);
            if (!await ReadUppercasedAsync(request.BodyReader, stream, sha, limit, cancellationToken))
            {
                return TooLarge(limit);
            }

            AppendSuffix(stream, sha);
            counters.Record(mode, stream.Capacity64);
            body = stream.GetReadOnlySequence();
        }
        else
        {
            var buffers = new CountingAllocator(BufferSources.Select(mode, arena, pool));
            var output = new ArenaBufferWriter(buffers);
            bool complete = await ReadUppercasedAsync(request.BodyReader, output, sha, limit, cancellationToken);
            counters.Record(mode, buffers.BytesRequested);
            if (!complete)
            {
                return TooLarge(limit);
            }

            AppendSuffix(output, sha);
            body = output.WrittenSequence;
        }

        return new SequenceResult(body, "application/octet-stream");
    }

    // False when the body turns out larger than the limit; nothing past the limit is copied.
    private static async Task<bool> ReadUppercasedAsync(PipeReader reader, IBufferWriter<byte> output, IncrementalHash sha, long limit, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            ReadResult read = await reader.ReadAsync(cancellationToken);
            ReadOnlySequence<byte> data = read.Buffer;
            total += data.Length;
            if (total > limit)
            {
                reader.AdvanceTo(data.End);
                return false;
            }

            CopyUppercased(data, output, sha);
            reader.AdvanceTo(data.End);
            if (read.IsCompleted)
            {
                return true;
            }
        }
    }

    private static void CopyUppercased(ReadOnlySequence<byte> data, IBufferWriter<byte> output, IncrementalHash sha)
    {
        foreach (ReadOnlyMemory<byte> segment in data)
        {
            ReadOnlySpan<byte> source = segment.Span;
            while (!source.IsEmpty)
            {
                Span<byte> destination = output.GetSpan();
                int n = Math.Min(destination.Length, source.Length);
                source[..n].CopyTo(destination);
                AsciiUpper.InPlace(destination[..n]);
                sha.AppendData(destination[..n]);
                output.Advance(n);
                source = source[n..];
            }
        }
    }

    private static void AppendSuffix(IBufferWriter<byte> output, IncrementalHash sha)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        sha.GetHashAndReset(hash);
        Span<byte> suffix = output.GetSpan(SuffixLength);
        suffix[0] = (byte)'\n';
        Convert.TryToHexStringLower(hash, suffix[1..], out _);
        output.Advance(SuffixLength);
    }

    private static ProblemHttpResult TooLarge(long limit) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Body too large",
            detail: $"/api/transform accepts at most {limit} bytes (Demo:TransformMaxBodyBytes).");
}
