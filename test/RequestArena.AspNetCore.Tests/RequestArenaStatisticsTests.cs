using Microsoft.AspNetCore.Builder;

namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaStatisticsTests : IDisposable
{
    private readonly SlabPool _pool = new(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan });

    public void Dispose() => _pool.Dispose();

    [Fact]
    public void GetSnapshot_NothingRecorded_AllZero()
    {
        var statistics = new RequestArenaStatistics(_pool);

        RequestArenaStatisticsSnapshot snapshot = statistics.GetSnapshot();

        Assert.Equal(0, snapshot.Requests);
        Assert.Equal(0, snapshot.MinBytes);
        Assert.Equal(0, snapshot.MaxBytes);
        Assert.Equal(0, snapshot.P50Bytes);
        Assert.Equal(0, snapshot.P99Bytes);
        Assert.All(snapshot.Buckets, b => Assert.Equal(0, b.Count));
    }

    [Fact]
    public void GetSnapshot_OneValue_EveryPercentileIsThatValue()
    {
        var statistics = new RequestArenaStatistics(_pool);

        statistics.RecordRequest(12_345, slabsRented: 1);

        RequestArenaStatisticsSnapshot snapshot = statistics.GetSnapshot();
        Assert.Equal(1, snapshot.Requests);
        Assert.Equal(12_345, snapshot.TotalBytes);
        Assert.Equal(12_345, snapshot.MinBytes);
        Assert.Equal(12_345, snapshot.MaxBytes);
        Assert.Equal(12_345, snapshot.P50Bytes);
        Assert.Equal(12_345, snapshot.P90Bytes);
        Assert.Equal(12_345, snapshot.P99Bytes);
        Assert.Equal(1, snapshot.SlabsRented);
    }

    [Fact]
    public void GetSnapshot_UniformValues_PercentilesWithinTheTrueValuesBucket()
    {
        var statistics = new RequestArenaStatistics(_pool);
        for (int i = 1; i <= 1000; i++)
        {
            statistics.RecordRequest(i * 100L, slabsRented: 0);
        }

        RequestArenaStatisticsSnapshot snapshot = statistics.GetSnapshot();

        Assert.Equal(1000, snapshot.Requests);
        Assert.Equal(100, snapshot.MinBytes);
        Assert.Equal(100_000, snapshot.MaxBytes);
        AssertSameBucket(50_000, snapshot.P50Bytes);
        AssertSameBucket(90_000, snapshot.P90Bytes);
        AssertSameBucket(99_000, snapshot.P99Bytes);
        Assert.True(snapshot.P50Bytes < snapshot.P90Bytes && snapshot.P90Bytes <= snapshot.P99Bytes);
        Assert.True(snapshot.P99Bytes <= snapshot.MaxBytes);
    }

    [Fact]
    public void GetSnapshot_SkewedValues_MedianFollowsTheBulk()
    {
        var statistics = new RequestArenaStatistics(_pool);
        for (int i = 0; i < 95; i++)
        {
            statistics.RecordRequest(1000, slabsRented: 0);
        }

        for (int i = 0; i < 5; i++)
        {
            statistics.RecordRequest(10_000_000, slabsRented: 0);
        }

        RequestArenaStatisticsSnapshot snapshot = statistics.GetSnapshot();

        AssertSameBucket(1000, snapshot.P50Bytes);
        AssertSameBucket(1000, snapshot.P90Bytes);
        AssertSameBucket(10_000_000, snapshot.P99Bytes);
    }

    [Fact]
    public void RecordRequest_ManyThreads_NothingLost()
    {
        var statistics = new RequestArenaStatistics(_pool);

        Parallel.For(0, 8, thread =>
        {
            for (int i = 1; i <= 10_000; i++)
            {
                statistics.RecordRequest(i, slabsRented: 1);
            }
        });

        RequestArenaStatisticsSnapshot snapshot = statistics.GetSnapshot();
        Assert.Equal(80_000, snapshot.Requests);
        Assert.Equal(8L * (10_000L * 10_001 / 2), snapshot.TotalBytes);
        Assert.Equal(1, snapshot.MinBytes);
        Assert.Equal(10_000, snapshot.MaxBytes);
        Assert.Equal(80_000, snapshot.SlabsRented);
    }

    // A request counted in a snapshot is counted whole: its bytes, slabs and extremes are in the same snapshot. (A
    // reader polling until Requests reaches N, as dashboards and tests do, then reads every figure of those N.)
    [Fact]
    public void GetSnapshot_WhileRequestsAreRecorded_NeverCountsARequestWithoutItsFigures()
    {
        const long Bytes = 100;
        const int Snapshots = 50_000;
        var statistics = new RequestArenaStatistics(_pool);
        bool stop = false;
        long recorded = 0;

        // Records until told to stop, so every snapshot that counts a request was taken while it was at work,
        // however the two threads are scheduled.
        var recorder = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                statistics.RecordRequest(Bytes, slabsRented: 1);
                recorded++;
            }
        });

        recorder.Start();
        int taken = 0;
        var torn = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (taken < Snapshots && torn.Count < 10 && DateTime.UtcNow < deadline)
        {
            RequestArenaStatisticsSnapshot snapshot = statistics.GetSnapshot();
            if (snapshot.Requests == 0)
            {
                continue;
            }

            taken++;
            if (snapshot.TotalBytes < snapshot.Requests * Bytes || snapshot.SlabsRented < snapshot.Requests
                || snapshot.MinBytes != Bytes || snapshot.MaxBytes != Bytes)
            {
                torn.Add($"{snapshot.Requests} requests, {snapshot.TotalBytes} B, {snapshot.SlabsRented} slabs, min {snapshot.MinBytes}, max {snapshot.MaxBytes}");
            }
        }

        Volatile.Write(ref stop, true);
        recorder.Join();
        Assert.Empty(torn);
        Assert.Equal(Snapshots, taken);

        RequestArenaStatisticsSnapshot end = statistics.GetSnapshot();
        Assert.Equal(recorded, end.Requests);
        Assert.Equal(recorded * Bytes, end.TotalBytes);
    }

    [Fact]
    public void GetSnapshot_IncludesPoolStatistics()
    {
        var statistics = new RequestArenaStatistics(_pool);
        using (var arena = new Arena(_pool))
        {
            arena.AllocateMemory(10);
        }

        Assert.Equal(1, statistics.GetSnapshot().Pool.SlabsRented);
        Assert.Equal(_pool.SlabSize, statistics.GetSnapshot().Pool.PooledBytes);
    }

    [Fact]
    public async Task InApplication_RecordsRequestsThatUsedTheirArena()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app =>
            {
                app.MapGet("/alloc/{bytes:int}", (int bytes, IModuleAllocator arena) => arena.AllocateMemory(bytes).Length);
                app.MapGet("/none", () => "none");
            },
            o => o.MaxBytesPerRequest = 10_000);

        await host.Client.GetStringAsync("/alloc/2000");
        await host.Client.GetStringAsync("/alloc/6000");
        await host.Client.GetStringAsync("/none");
        await host.Client.GetAsync("/alloc/20000");
        await host.WaitForReleasesAsync(3);

        RequestArenaStatisticsSnapshot snapshot = host.Statistics.GetSnapshot();
        Assert.Equal(3, snapshot.Requests);
        Assert.Equal(8000, snapshot.TotalBytes);
        Assert.Equal(0, snapshot.MinBytes);
        Assert.Equal(6000, snapshot.MaxBytes);
        Assert.Equal(1, snapshot.LimitExceeded);
    }

    private static void AssertSameBucket(long expected, long estimate)
    {
        int bucket = ByteSizeBuckets.IndexOf(expected);
        Assert.True(ByteSizeBuckets.IndexOf(estimate) == bucket, $"Estimate {estimate} is not in the bucket of {expected}.");
    }
}
