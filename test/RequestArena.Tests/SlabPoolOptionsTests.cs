namespace RequestArena.Tests;

public class SlabPoolOptionsTests
{
    [Fact]
    public void Defaults_MatchTheDocumentation()
    {
        var options = new SlabPoolOptions();

        Assert.Equal(64 * 1024, options.SlabSize);
        Assert.Equal(32L * 1024 * 1024, options.MaxRetainedBytes);
        Assert.Equal(TimeSpan.FromSeconds(10), options.TrimInterval);
        Assert.Null(options.Provider);
        Assert.Same(PinnedArraySlabProvider.Instance, new SlabPool(new SlabPoolOptions { TrimInterval = Timeout.InfiniteTimeSpan }).Provider);
    }

    [Theory]
    [InlineData(SlabPoolOptions.MinSlabSize)]
    [InlineData(SlabPoolOptions.MaxSlabSize)]
    public void SlabSize_AtTheBounds_IsAccepted(int slabSize)
    {
        using var pool = new SlabPool(new SlabPoolOptions { SlabSize = slabSize, TrimInterval = Timeout.InfiniteTimeSpan });

        Assert.Equal(slabSize, pool.SlabSize);
    }
}
