namespace RequestArena.LoadTest;

/// <summary>What a load generator measured in one run; latencies in microseconds.</summary>
internal sealed record DriverResult(long Requests, long Errors, TimeSpan Elapsed, double P50Us, double P90Us, double P99Us, double MaxUs)
{
    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;
}
