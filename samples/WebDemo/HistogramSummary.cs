namespace WebDemo;

/// <summary>A snapshot of <see cref="RequestBytesHistogram"/>; quantiles are bucket upper bounds.</summary>
internal sealed record HistogramSummary(long Count, long TotalBytes, long MinBytes, long MaxBytes, long[] Buckets)
{
    public static long BucketUpperBound(int bucket) => bucket == 0 ? 1 : 1L << bucket;

    public double MeanBytes => Count == 0 ? 0 : (double)TotalBytes / Count;

    // The bucket bound, clamped to the observed range so a single-valued histogram reports that value.
    public long Quantile(double q)
    {
        if (Count == 0)
        {
            return 0;
        }

        long rank = (long)Math.Ceiling(q * Count);
        long seen = 0;
        for (int i = 0; i < Buckets.Length; i++)
        {
            seen += Buckets[i];
            if (seen >= rank)
            {
                return Math.Clamp(BucketUpperBound(i), MinBytes, MaxBytes);
            }
        }

        return MaxBytes;
    }
}
