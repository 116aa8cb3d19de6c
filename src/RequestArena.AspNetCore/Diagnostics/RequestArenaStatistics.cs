namespace RequestArena.AspNetCore;

/// <summary>
/// In-process statistics of request arenas: how many bytes each request allocated (a histogram with count, sum,
/// minimum, maximum and percentile estimates), limits hit and slabs rented. Registered as a singleton by
/// <c>AddRequestArena</c>; resolve it to show a summary (for example on a diagnostics endpoint) without a metrics
/// pipeline. The same figures are published through the <c>RequestArena</c> meter.
/// </summary>
/// <remarks>
/// Recording is lock-free (a few interlocked operations per request that used its arena), so the statistics are
/// always on; requests that never touch their arena are not recorded and cost nothing here.
/// </remarks>
public sealed class RequestArenaStatistics
{
    private readonly SlabPool _pool;
    private readonly long[] _buckets = new long[ByteSizeBuckets.BucketCount];
    private long _totalBytes;
    private long _min = long.MaxValue;
    private long _max = long.MinValue;
    private long _limitExceeded;
    private long _slabsRented;

    internal RequestArenaStatistics(SlabPool pool)
    {
        _pool = pool;
    }

    /// <summary>Reads the statistics.</summary>
    /// <returns>
    /// A snapshot; later requests do not change it. Every request it counts is counted whole: its bytes, slabs and
    /// extremes are in the snapshot, and its slabs are already back in <see cref="RequestArenaStatisticsSnapshot.Pool"/>.
    /// </returns>
    public RequestArenaStatisticsSnapshot GetSnapshot()
    {
        // The buckets first: RecordRequest counts a request in its bucket only after storing its other figures, so
        // every request this snapshot counts is in its totals and extremes too (a request still being recorded may
        // already be in the totals, never the other way round).
        var counts = new long[_buckets.Length];
        long requests = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] = Volatile.Read(ref _buckets[i]);
            requests += counts[i];
        }

        long[] bounds = ByteSizeBuckets.Boundaries;
        long min = requests == 0 ? 0 : Volatile.Read(ref _min);
        long max = requests == 0 ? 0 : Volatile.Read(ref _max);

        var buckets = new RequestArenaHistogramBucket[counts.Length];
        for (int i = 0; i < counts.Length; i++)
        {
            long lower = i == 0 ? -1 : bounds[i - 1];
            long upper = i < bounds.Length ? bounds[i] : long.MaxValue;
            buckets[i] = new RequestArenaHistogramBucket(lower, upper, counts[i]);
        }

        return new RequestArenaStatisticsSnapshot
        {
            Requests = requests,
            TotalBytes = Volatile.Read(ref _totalBytes),
            MinBytes = min,
            MaxBytes = max,
            P50Bytes = EstimatePercentile(buckets, requests, min, max, 0.50),
            P90Bytes = EstimatePercentile(buckets, requests, min, max, 0.90),
            P99Bytes = EstimatePercentile(buckets, requests, min, max, 0.99),
            LimitExceeded = Volatile.Read(ref _limitExceeded),
            SlabsRented = Volatile.Read(ref _slabsRented),
            Buckets = buckets,
            Pool = _pool.GetStatistics(),
        };
    }

    internal void RecordSlabsRented(long slabsRented) => Interlocked.Add(ref _slabsRented, slabsRented);

    internal void RecordRequest(long bytes, long slabsRented)
    {
        Interlocked.Add(ref _totalBytes, bytes);
        if (slabsRented != 0)
        {
            Interlocked.Add(ref _slabsRented, slabsRented);
        }

        // Most requests move neither extreme, so a plain read first keeps the CAS loops off the common path.
        long min = Volatile.Read(ref _min);
        while (bytes < min)
        {
            long seen = Interlocked.CompareExchange(ref _min, bytes, min);
            if (seen == min)
            {
                break;
            }

            min = seen;
        }

        long max = Volatile.Read(ref _max);
        while (bytes > max)
        {
            long seen = Interlocked.CompareExchange(ref _max, bytes, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }

        // Last, and a full fence like every interlocked operation: a reader that sees this count sees all of the above.
        Interlocked.Increment(ref _buckets[ByteSizeBuckets.IndexOf(bytes)]);
    }

    internal void RecordLimitExceeded() => Interlocked.Increment(ref _limitExceeded);

    // The rank-th value is assumed to lie in its bucket at a linear position, then clamped to what was observed:
    // the clamp is what makes a single-valued histogram report that value rather than its bucket's upper bound.
    internal static long EstimatePercentile(IReadOnlyList<RequestArenaHistogramBucket> buckets, long requests, long min, long max, double percentile)
    {
        if (requests == 0)
        {
            return 0;
        }

        double rank = percentile * requests;
        long seen = 0;
        foreach (RequestArenaHistogramBucket bucket in buckets)
        {
            if (bucket.Count == 0)
            {
                continue;
            }

            if (seen + bucket.Count >= rank)
            {
                double lower = Math.Max(bucket.LowerBound, min);
                double upper = Math.Min(bucket.UpperBound, max);
                if (upper <= lower)
                {
                    return Math.Clamp((long)upper, min, max);
                }

                double fraction = (rank - seen) / bucket.Count;
                return Math.Clamp((long)Math.Ceiling(lower + ((upper - lower) * fraction)), min, max);
            }

            seen += bucket.Count;
        }

        return max;
    }
}
