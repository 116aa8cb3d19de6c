using System.Diagnostics.Metrics;

namespace WebDemo;

/// <summary>
/// Collects <c>requestarena.request.allocated</c> (bytes each request took from its arena) into power-of-two
/// buckets, from the contract's meter, for <c>/arena/stats</c> and the dashboard.
/// </summary>
internal sealed class RequestBytesHistogram : IDisposable
{
    public const string MeterName = "RequestArena";
    public const string InstrumentName = "requestarena.request.allocated";

    // Bucket b holds values in (2^(b-1), 2^b]; bucket 0 holds 0 and 1.
    private const int BucketCount = 48;

    private readonly long[] _buckets = new long[BucketCount];
    private readonly MeterListener _listener;
    private readonly IMeterFactory _meterFactory;
    private long _sum;
    private long _min = long.MaxValue;
    private long _max;

    public RequestBytesHistogram(IMeterFactory meterFactory)
    {
        _meterFactory = meterFactory;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                // A meter from another host's IMeterFactory (tests run several hosts in one process) is not ours.
                if (instrument.Meter.Name == MeterName && instrument.Name == InstrumentName
                    && (instrument.Meter.Scope is null || ReferenceEquals(instrument.Meter.Scope, _meterFactory)))
                {
                    listener.EnableMeasurementEvents(instrument, this);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, _, state) => ((RequestBytesHistogram)state!).Record(value));
        _listener.SetMeasurementEventCallback<int>(static (_, value, _, state) => ((RequestBytesHistogram)state!).Record(value));
        _listener.Start();
    }

    public void Record(long bytes)
    {
        bytes = Math.Max(0, bytes);
        int bucket = bytes <= 1 ? 0 : 64 - (int)long.LeadingZeroCount(bytes - 1);
        Interlocked.Increment(ref _buckets[Math.Min(bucket, BucketCount - 1)]);
        Interlocked.Add(ref _sum, bytes);
        InterlockedMin(ref _min, bytes);
        InterlockedMax(ref _max, bytes);
    }

    public HistogramSummary Snapshot()
    {
        var buckets = new long[BucketCount];
        for (int i = 0; i < BucketCount; i++)
        {
            buckets[i] = Interlocked.Read(ref _buckets[i]);
        }

        long count = 0;
        foreach (long c in buckets)
        {
            count += c;
        }

        long min = Interlocked.Read(ref _min);
        return new HistogramSummary(
            count,
            Interlocked.Read(ref _sum),
            count == 0 || min == long.MaxValue ? 0 : min,
            Interlocked.Read(ref _max),
            buckets);
    }

    public void Dispose() => _listener.Dispose();

    private static void InterlockedMin(ref long target, long value)
    {
        long current = Volatile.Read(ref target);
        while (value < current)
        {
            long seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current = Volatile.Read(ref target);
        while (value > current)
        {
            long seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
