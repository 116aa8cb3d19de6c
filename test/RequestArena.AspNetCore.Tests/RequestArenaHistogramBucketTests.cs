namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaHistogramBucketTests : IDisposable
{
    private readonly SlabPool _pool = new(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan });

    public void Dispose() => _pool.Dispose();

    [Fact]
    public void Buckets_AreContiguousFromZeroToLongMax()
    {
        IReadOnlyList<RequestArenaHistogramBucket> buckets = new RequestArenaStatistics(_pool).GetSnapshot().Buckets;

        Assert.Equal(new RequestArenaHistogramBucket(-1, 0, 0), buckets[0]);
        Assert.Equal(long.MaxValue, buckets[^1].UpperBound);
        Assert.Equal(64L * 1024 * 1024, buckets[^1].LowerBound);
        for (int i = 1; i < buckets.Count; i++)
        {
            Assert.Equal(buckets[i - 1].UpperBound, buckets[i].LowerBound);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(512)]
    [InlineData(65_536)]
    [InlineData(65_537)]
    [InlineData(64L * 1024 * 1024)]
    [InlineData((64L * 1024 * 1024) + 1)]
    public void Value_LandsInTheBucketWhoseBoundsHoldIt(long bytes)
    {
        var statistics = new RequestArenaStatistics(_pool);
        statistics.RecordRequest(bytes, 0);

        RequestArenaHistogramBucket bucket = Assert.Single(statistics.GetSnapshot().Buckets, b => b.Count == 1);

        Assert.True(bucket.LowerBound < bytes && bytes <= bucket.UpperBound, $"{bytes} recorded in ({bucket.LowerBound}, {bucket.UpperBound}].");
    }
}
