namespace RequestArena.AspNetCore;

/// <summary>
/// What <see cref="RequestArenaStatistics.GetSnapshot"/> returns: counters and the bytes-per-request histogram since
/// the application started, and the slab pool's state now. Only requests that used their arena are counted.
/// </summary>
/// <remarks>
/// The counters are read one by one without stopping requests, so under load they may disagree by the few requests
/// that completed while the snapshot was taken. Percentiles are estimated from the buckets (linear within a bucket,
/// clamped to the observed minimum and maximum), as a metrics backend would from the exported histogram.
/// </remarks>
public sealed class RequestArenaStatisticsSnapshot
{
    /// <summary>Requests that used their arena (took memory from it, or asked for an empty allocation).</summary>
    public required long Requests { get; init; }

    /// <summary>Bytes allocated by all those requests together.</summary>
    public required long TotalBytes { get; init; }

    /// <summary>The fewest bytes one request allocated; 0 when <see cref="Requests"/> is 0.</summary>
    public required long MinBytes { get; init; }

    /// <summary>The most bytes one request allocated; 0 when <see cref="Requests"/> is 0.</summary>
    public required long MaxBytes { get; init; }

    /// <summary>The mean bytes per request; 0 when <see cref="Requests"/> is 0.</summary>
    public double MeanBytes => Requests == 0 ? 0 : (double)TotalBytes / Requests;

    /// <summary>The estimated median bytes per request.</summary>
    public required long P50Bytes { get; init; }

    /// <summary>The estimated 90th percentile of bytes per request.</summary>
    public required long P90Bytes { get; init; }

    /// <summary>The estimated 99th percentile of bytes per request.</summary>
    public required long P99Bytes { get; init; }

    /// <summary>Requests that hit their arena limit (counted once per request).</summary>
    public required long LimitExceeded { get; init; }

    /// <summary>Slabs and oversize blocks requests rented from the pool.</summary>
    public required long SlabsRented { get; init; }

    /// <summary>
    /// The histogram: every bucket in order, empty ones included, with the same boundaries as the bucket advice of
    /// the <c>requestarena.request.allocated</c> instrument.
    /// </summary>
    public required IReadOnlyList<RequestArenaHistogramBucket> Buckets { get; init; }

    /// <summary>The slab pool's counters at the time of the snapshot.</summary>
    public required SlabPoolStatistics Pool { get; init; }
}
