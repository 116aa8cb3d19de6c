using System.Buffers;
using Microsoft.Net.Http.Headers;

namespace WebDemo;

/// <summary>
/// Sends bytes that already sit in the request's buffers (arena, pooled or fresh) as the body. The result runs
/// before the request ends, while the arena and the rented arrays are still the request's.
/// </summary>
internal sealed class SequenceResult(ReadOnlySequence<byte> body, string contentType) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        HttpResponse response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        response.Headers[HeaderNames.CacheControl] = "no-store";
        foreach (ReadOnlyMemory<byte> segment in body)
        {
            response.BodyWriter.Write(segment.Span);
        }

        await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
    }
}
