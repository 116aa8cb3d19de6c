using System.Numerics;

namespace RequestArena.AspNetCore;

// The bucket layout shared by the requestarena.request.allocated advice and the in-process statistics, so the
// percentiles the demo shows agree with what an OpenTelemetry backend computes from the exported buckets.
// Upper bounds (inclusive): 0, then every power of two from 256 B to 64 MiB; one more bucket holds the rest.
internal static class ByteSizeBuckets
{
    private const int FirstShift = 8;   // 256 B
    private const int LastShift = 26;   // 64 MiB

    public static readonly long[] Boundaries = CreateBoundaries();

    // Boundaries.Length + 1: the last bucket counts requests above 64 MiB.
    public static int BucketCount => Boundaries.Length + 1;

    // Branch-light so recording stays a handful of instructions: ceil(log2(bytes)) picks the power of two.
    public static int IndexOf(long bytes)
    {
        if (bytes <= 0)
        {
            return 0;
        }

        if (bytes <= 1L << FirstShift)
        {
            return 1;
        }

        if (bytes > 1L << LastShift)
        {
            return Boundaries.Length;
        }

        int ceilLog2 = 64 - BitOperations.LeadingZeroCount((ulong)bytes - 1);
        return ceilLog2 - FirstShift + 1;
    }

    private static long[] CreateBoundaries()
    {
        var boundaries = new long[LastShift - FirstShift + 2];
        for (int shift = FirstShift; shift <= LastShift; shift++)
        {
            boundaries[shift - FirstShift + 1] = 1L << shift;
        }

        return boundaries;
    }
}
