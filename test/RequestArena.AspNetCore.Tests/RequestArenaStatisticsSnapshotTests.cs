namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaStatisticsSnapshotTests : IDisposable
{
    private readonly SlabPool _pool = new(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan });

    public void Dispose() => _pool.Dispose();

    [Fact]
    public void MeanBytes_IsTotalOverRequests()
    {
        var statistics = new RequestArenaStatistics(_pool);
        statistics.RecordRequest(100, 0);
        statistics.RecordRequest(300, 0);

        Assert.Equal(200.0, statistics.GetSnapshot().MeanBytes);
    }

    [Fact]
    public void MeanBytes_NoRequests_IsZero()
    {
        Assert.Equal(0.0, new RequestArenaStatistics(_pool).GetSnapshot().MeanBytes);
    }

    [Fact]
    public void Buckets_CountsAddUpToRequests()
    {
        var statistics = new RequestArenaStatistics(_pool);
        foreach (long bytes in new long[] { 0, 1, 256, 257, 4096, 70_000_000, 70_000_000 })
        {
            statistics.RecordRequest(bytes, 0);
        }

        RequestArenaStatisticsSnapshot snapshot = statistics.GetSnapshot();

        Assert.Equal(snapshot.Requests, snapshot.Buckets.Sum(b => b.Count));
        Assert.Equal(7, snapshot.Requests);
        Assert.Equal(2, snapshot.Buckets[^1].Count);
    }

    [Fact]
    public void Snapshot_LaterRecordings_DoNotChangeIt()
    {
        var statistics = new RequestArenaStatistics(_pool);
        statistics.RecordRequest(10, 0);
        RequestArenaStatisticsSnapshot snapshot = statistics.GetSnapshot();

        statistics.RecordRequest(20, 0);

        Assert.Equal(1, snapshot.Requests);
        Assert.Equal(1, snapshot.Buckets.Sum(b => b.Count));
    }
}
