using System.Diagnostics;
using System.Text.Json;
using Microsoft.Net.Http.Headers;
using Microsoft.Extensions.Options;
using RequestArena;
using RequestArena.AspNetCore;

namespace WebDemo;

/// <summary>
/// <c>GET /arena/stats</c>: the slab pool's figures, the per-request arena histogram, per-mode counters and the
/// process's GC figures. The GC names (<c>gen0Collections</c> … <c>totalAllocatedBytes</c>) are part of the demo's
/// contract: the load test and the dashboard read them.
/// </summary>
internal static class StatsEndpoint
{
    // The process's start, not this type's first use, so uptime is right on the first call too.
    private static readonly DateTime s_processStart = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public static RouteHandlerBuilder MapStats(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/arena/stats", GetStatsAsync).DisableRequestArena();

    private static async Task GetStatsAsync(
        HttpResponse response, RequestArenaStatistics statistics, IOptions<RequestArenaOptions> options, DemoCounters counters)
    {
        response.ContentType = "application/json";
        response.Headers[HeaderNames.CacheControl] = "no-store";
        await using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            Write(json, statistics.GetSnapshot(), options.Value.SlabSize, counters);
        }

        await response.BodyWriter.FlushAsync();
    }

    private static void Write(Utf8JsonWriter json, RequestArenaStatisticsSnapshot arena, int slabSize, DemoCounters counters)
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

        SlabPoolStatistics pool = arena.Pool;
        json.WriteStartObject("pool");
        json.WriteNumber("slabSize", slabSize);
        json.WriteNumber("slabsRented", pool.SlabsRented);
        json.WriteNumber("slabsReturned", pool.SlabsReturned);
        json.WriteNumber("slabsInUse", pool.SlabsInUse);
        json.WriteNumber("pooledSlabs", pool.PooledSlabs);
        json.WriteNumber("pooledBytes", pool.PooledBytes);
        json.WriteNumber("maxRetainedBytes", pool.MaxRetainedBytes);
        json.WriteNumber("providerAllocatedBytes", pool.ProviderAllocatedBytes);
        json.WriteNumber("providerFreedBytes", pool.ProviderFreedBytes);
        json.WriteNumber("slabsTrimmed", pool.SlabsTrimmed);
        json.WriteNumber("slabsDropped", pool.SlabsDropped);
        json.WriteNumber("oversizeRented", pool.OversizeRented);
        json.WriteNumber("oversizeInUse", pool.OversizeInUse);
        json.WriteEndObject();

        // The middleware's own per-request summary: one entry per request that used its arena.
        json.WriteStartObject("requests");
        json.WriteNumber("count", arena.Requests);
        json.WriteNumber("totalBytes", arena.TotalBytes);
        json.WriteNumber("minBytes", arena.MinBytes);
        json.WriteNumber("maxBytes", arena.MaxBytes);
        json.WriteNumber("meanBytes", Math.Round(arena.MeanBytes, 1));
        json.WriteNumber("p50Bytes", arena.P50Bytes);
        json.WriteNumber("p90Bytes", arena.P90Bytes);
        json.WriteNumber("p99Bytes", arena.P99Bytes);
        json.WriteNumber("limitExceeded", arena.LimitExceeded);
        json.WriteNumber("slabsRented", arena.SlabsRented);

        // From the first to the last non-empty bucket, empty ones in between included, so a chart needs no layout.
        IReadOnlyList<RequestArenaHistogramBucket> buckets = arena.Buckets;
        int first = 0, last = buckets.Count - 1;
        while (first < buckets.Count && buckets[first].Count == 0)
        {
            first++;
        }

        while (last >= first && buckets[last].Count == 0)
        {
            last--;
        }

        json.WriteStartArray("buckets");
        for (int i = first; i <= last; i++)
        {
            json.WriteStartObject();
            json.WriteNumber("lowerBytes", Math.Max(0, buckets[i].LowerBound + 1));
            if (buckets[i].UpperBound == long.MaxValue)
            {
                json.WriteNull("upperBytes");
            }
            else
            {
                json.WriteNumber("upperBytes", buckets[i].UpperBound);
            }

            json.WriteNumber("count", buckets[i].Count);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();

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
