using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore;

// The response to a request whose arena limit was exceeded: a problem-details body through the application's
// IProblemDetailsService when it has one (so its customisation applies), written here otherwise. When the application's
// service declines (the client accepts no JSON), a plain-text line, as UseStatusCodePages answers then: sending
// problem+json past the application's own service would skip its customisation and ignore what the client accepts.
internal static class LimitExceededResponse
{
    private const string Title = "Request memory limit exceeded";

    public static async Task WriteAsync(HttpContext context, int statusCode, ArenaLimitExceededException exception)
    {
        HttpResponse response = context.Response;
        response.Clear();
        response.StatusCode = statusCode;

        string detail = $"The request needed more memory than its limit of {exception.Limit} bytes allows.";
        if (context.RequestServices?.GetService<IProblemDetailsService>() is { } problemDetailsService)
        {
            var problem = new ProblemDetails
            {
                Status = statusCode,
                Title = Title,
                Detail = detail,
            };

            if (await problemDetailsService.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception }))
            {
                return;
            }

            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync($"{Title}: {detail}", context.RequestAborted);
            return;
        }

        response.ContentType = "application/problem+json";
        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteString("title", Title);
            writer.WriteNumber("status", statusCode);
            writer.WriteString("detail", detail);
            writer.WriteString("traceId", Activity.Current?.Id ?? context.TraceIdentifier);
            writer.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }
}
