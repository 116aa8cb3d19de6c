using System.Globalization;
using Microsoft.Net.Http.Headers;
using RequestArena;

namespace WebDemo;

/// <summary><c>GET /api/report?items=N&amp;alloc=arena|pool|new</c>.</summary>
internal static class ReportEndpoint
{
    // Per thread, reused: the handler finishes with both before it awaits anything.
    [ThreadStatic]
    private static SegmentedBufferWriter? t_output;

    [ThreadStatic]
    private static ScratchBuffers? t_scratch;

    public static Task HandleAsync(HttpContext context, DemoCounters counters)
    {
        string? query = context.Request.QueryString.Value;
        if (QueryValues.NeedsStandardParser(query))
        {
            return HandleParsedAsync(context, counters, QueryValues.Get(context.Request, "items"), QueryValues.Get(context.Request, "alloc"));
        }

        // The common case parses spans of the raw query: no strings, no collection.
        bool hasItems = QueryValues.TryGet(query, "items", out ReadOnlySpan<char> itemsText);
        bool hasAlloc = QueryValues.TryGet(query, "alloc", out ReadOnlySpan<char> allocText);
        int items = ReportBuilder.DefaultItems;
        if ((hasItems && !TryParseItems(itemsText, out items)) || (hasAlloc && !AllocModes.TryParse(allocText, out _)))
        {
            return HandleParsedAsync(context, counters, hasItems ? itemsText.ToString() : null, hasAlloc ? allocText.ToString() : null);
        }

        AllocModes.TryParse(hasAlloc ? allocText : "arena", out AllocMode mode);
        return WriteReportAsync(context, counters, items, mode);
    }

    // Validation with messages; also the path for queries with escapes.
    private static Task HandleParsedAsync(HttpContext context, DemoCounters counters, string? itemsText, string? allocText)
    {
        int items = ReportBuilder.DefaultItems;
        if (itemsText is not null && !TryParseItems(itemsText, out items))
        {
            return Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "Invalid 'items'",
                $"'items' must be an integer from {ReportBuilder.MinItems} to {ReportBuilder.MaxItems}; it was '{itemsText}'.");
        }

        if (!AllocModes.TryParse(allocText, out AllocMode mode))
        {
            return Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "Invalid 'alloc'",
                $"'alloc' must be one of arena, pool, new; it was '{allocText}'.");
        }

        return WriteReportAsync(context, counters, items, mode);
    }

    private static bool TryParseItems(ReadOnlySpan<char> text, out int items) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out items)
        && items >= ReportBuilder.MinItems && items <= ReportBuilder.MaxItems;

    private static Task WriteReportAsync(HttpContext context, DemoCounters counters, int items, AllocMode mode)
    {
        IModuleAllocator? arena = mode == AllocMode.Arena ? context.GetRequestArena() : null;
        ScratchBuffers scratch = t_scratch ?? new ScratchBuffers();
        SegmentedBufferWriter output = t_output ?? new SegmentedBufferWriter();
        t_scratch = null;
        t_output = null;
        scratch.Begin(mode, arena);
        try
        {
            output.Reset(scratch, 64 + items * ReportBuilder.BytesPerItemEstimate);
            ReportBuilder.Write(output, scratch, items);

            HttpResponse response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            response.ContentLength = output.WrittenCount;
            response.Headers[HeaderNames.CacheControl] = "no-store";

            // Copied into the response pipe before anything is awaited: after this the buffers may go back to
            // their source, and the thread-static helpers are free for the next request on this thread.
            output.CopyTo(response.BodyWriter);
        }
        finally
        {
            counters.Record(mode, scratch.BytesRequested);
            output.Clear();
            scratch.End();
            t_output = output;
            t_scratch = scratch;
        }

        return FlushAsync(context.Response);
    }

    private static Task FlushAsync(HttpResponse response)
    {
        ValueTask<System.IO.Pipelines.FlushResult> flush = response.BodyWriter.FlushAsync();
        return flush.IsCompletedSuccessfully ? Task.CompletedTask : flush.AsTask();
    }
}
