using System.Diagnostics;
using System.Text.Json;
using Microsoft.Net.Http.Headers;
using RequestArena;

namespace WebDemo;

/// <summary>
/// <c>GET /arena/stats</c>: the slab pool's figures, the per-request arena histogram, per-mode counters and the
/// process's GC figures. The GC names (<c>gen0Collections</c> … <c>workingSetBytes</c>) are fixed by issue 5; the
/// load test and the dashboard read them.
/// </summary>
internal static class StatsEndpoint
{
    // The process's start, not this type's first use, so uptime is right on the first call too.
    private static readonly DateTime s_processStart = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public static async Task HandleAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        response.ContentType = "application/json";
        response.Headers[HeaderNames.CacheControl] = "no-store";
        await using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            Write(json, context.RequestServices);
        }

        await response.BodyWriter.FlushAsync();
    }

    public static void Write(Utf8JsonWriter json, IServiceProvider services)
    {
        json.WriteStartObject();
        json.WriteNumber("uptimeSeconds", Math.Round((DateTime.UtcNow - s_processStart).TotalSeconds, 3));

        // Precise: the load test divides deltas of this by request counts.
        json.WriteNumber("gen0Collections", GC.CollectionCount(0));
        json.WriteNumber("gen1Collections", GC.CollectionCount(1));
        json.WriteNumber("gen2Collections", GC.CollectionCount(2));
        json.WriteNumber("totalAllocatedBytes", GC.GetTotalAllocatedBytes(precise: true));
        json.WriteNumber("workingSetBytes", Environment.WorkingSet);
        json.WriteNumber("gcHeapSizeBytes", GC.GetGCMemoryInfo().HeapSizeBytes);
        json.WriteNumber("gcPauseMilliseconds", GC.GetTotalPauseDuration().TotalMilliseconds);
        json.WriteBoolean("serverGC", System.Runtime.GCSettings.IsServerGC);

        SlabPool pool = ArenaPoolLocator.Pool(services);
        SlabPoolStatistics stats = pool.GetStatistics();
        json.WriteStartObject("pool");
        json.WriteNumber("slabSize", pool.SlabSize);
        json.WriteNumber("slabsRented", stats.SlabsRented);
        json.WriteNumber("slabsReturned", stats.SlabsReturned);
        json.WriteNumber("slabsInUse", stats.SlabsInUse);
        json.WriteNumber("pooledSlabs", stats.PooledSlabs);
        json.WriteNumber("pooledBytes", stats.PooledBytes);
        json.WriteNumber("maxRetainedBytes", stats.MaxRetainedBytes);
        json.WriteNumber("providerAllocatedBytes", stats.ProviderAllocatedBytes);
        json.WriteNumber("providerFreedBytes", stats.ProviderFreedBytes);
        json.WriteNumber("slabsTrimmed", stats.SlabsTrimmed);
        json.WriteNumber("slabsDropped", stats.SlabsDropped);
        json.WriteNumber("oversizeRented", stats.OversizeRented);
        json.WriteNumber("oversizeInUse", stats.OversizeInUse);
        json.WriteEndObject();

        HistogramSummary histogram = services.GetRequiredService<RequestBytesHistogram>().Snapshot();
        json.WriteStartObject("requests");
        json.WriteNumber("count", histogram.Count);
        json.WriteNumber("totalBytes", histogram.TotalBytes);
        json.WriteNumber("minBytes", histogram.MinBytes);
        json.WriteNumber("maxBytes", histogram.MaxBytes);
        json.WriteNumber("meanBytes", Math.Round(histogram.MeanBytes, 1));
        json.WriteNumber("p50Bytes", histogram.Quantile(0.50));
        json.WriteNumber("p90Bytes", histogram.Quantile(0.90));
        json.WriteNumber("p99Bytes", histogram.Quantile(0.99));
        json.WriteStartArray("buckets");
        for (int i = 0; i < histogram.Buckets.Length; i++)
        {
            if (histogram.Buckets[i] == 0)
            {
                continue;
            }

            json.WriteStartObject();
            json.WriteNumber("upperBytes", HistogramSummary.BucketUpperBound(i));
            json.WriteNumber("count", histogram.Buckets[i]);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();

        DemoCounters counters = services.GetRequiredService<DemoCounters>();
        json.WriteStartObject("modes");
        foreach (AllocMode mode in AllocModes.All)
        {
            json.WriteStartObject(AllocModes.Name(mode));
            json.WriteNumber("requests", counters.Requests(mode));
            json.WriteNumber("scratchBytes", counters.ScratchBytes(mode));
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }
}
