using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace RequestArena.AspNetCore;

// The RequestArena meter. Created from IMeterFactory so every host (and every test host) has its own meter that the
// factory disposes with the container. Feeds the in-process RequestArenaStatistics from the same call sites, so the
// two never disagree about what was recorded.
internal sealed class RequestArenaMetrics : IDisposable
{
    public const string MeterName = "RequestArena";
    public const string AllocatedInstrument = "requestarena.request.allocated";
    public const string SlabRentedInstrument = "requestarena.slab.rented";
    public const string LimitExceededInstrument = "requestarena.limit.exceeded";
    public const string PooledBytesInstrument = "requestarena.pool.pooled_bytes";
    public const string SlabsInUseInstrument = "requestarena.pool.slabs_in_use";
    public const string ProviderFreeFailuresInstrument = "requestarena.pool.provider_free_failures";
    public const string RouteTag = "http.route";

    private readonly Meter _meter;
    private readonly Histogram<long> _allocated;
    private readonly Counter<long> _slabRented;
    private readonly Counter<long> _limitExceeded;
    private readonly RequestArenaStatistics _statistics;

    public RequestArenaMetrics(IMeterFactory meterFactory, RequestArenaPools pools, RequestArenaStatistics statistics)
    {
        _statistics = statistics;
        _meter = meterFactory.Create(MeterName);

        _allocated = _meter.CreateHistogram(
            AllocatedInstrument,
            unit: "By",
            description: "Bytes a request allocated from its arena; one measurement per request that used its arena.",
            tags: null,
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = ByteSizeBuckets.Boundaries });

        _slabRented = _meter.CreateCounter<long>(
            SlabRentedInstrument,
            unit: "{slab}",
            description: "Slabs and oversize blocks request arenas rented from the slab pool.");

        _limitExceeded = _meter.CreateCounter<long>(
            LimitExceededInstrument,
            unit: "{request}",
            description: "Requests that hit their arena limit.");

        SlabPool slabPool = pools.SlabPool;
        _meter.CreateObservableGauge(
            PooledBytesInstrument,
            () => slabPool.GetStatistics().PooledBytes,
            unit: "By",
            description: "Bytes of idle slabs the pool keeps for the next requests.");

        _meter.CreateObservableGauge(
            SlabsInUseInstrument,
            () => slabPool.GetStatistics().SlabsInUse,
            unit: "{slab}",
            description: "Slabs request arenas hold now.");

        // Also counts what the pool's idle-trim timer met, which has no caller to throw to.
        _meter.CreateObservableCounter(
            ProviderFreeFailuresInstrument,
            () => slabPool.GetStatistics().ProviderFreeFailures,
            unit: "{call}",
            description: "Calls to the slab provider's Free that threw; each block had left the pool either way.");
    }

    public void RequestReleased(long allocatedBytes, long slabsRented, Endpoint? endpoint)
    {
        _statistics.RecordRequest(allocatedBytes, slabsRented);

        if (_allocated.Enabled)
        {
            // The route template (not the path) keeps the tag's cardinality bounded, as http.server.request.duration does.
            if (GetRoute(endpoint) is { } route)
            {
                _allocated.Record(allocatedBytes, new KeyValuePair<string, object?>(RouteTag, route));
            }
            else
            {
                _allocated.Record(allocatedBytes);
            }
        }

        if (slabsRented != 0)
        {
            _slabRented.Add(slabsRented);
        }
    }

    // Slabs a request rented after its bytes were measured (a pipeline re-executed after a failed pass).
    public void SlabsRented(long slabsRented)
    {
        if (slabsRented != 0)
        {
            _statistics.RecordSlabsRented(slabsRented);
            _slabRented.Add(slabsRented);
        }
    }

    public void LimitExceeded(Endpoint? endpoint)
    {
        _statistics.RecordLimitExceeded();
        if (_limitExceeded.Enabled)
        {
            if (GetRoute(endpoint) is { } route)
            {
                _limitExceeded.Add(1, new KeyValuePair<string, object?>(RouteTag, route));
            }
            else
            {
                _limitExceeded.Add(1);
            }
        }
    }

    public void Dispose() => _meter.Dispose();

    private static string? GetRoute(Endpoint? endpoint) => (endpoint as RouteEndpoint)?.RoutePattern.RawText;
}
