namespace RequestArena.Tests;

public class ArenaLimitExceededExceptionTests
{
    [Fact]
    public void Message_StatesLimitRequestAndAllocated()
    {
        var ex = new ArenaLimitExceededException(limit: 1024, requested: 2048, allocated: 512);

        Assert.Equal(1024, ex.Limit);
        Assert.Equal(2048, ex.Requested);
        Assert.Equal(512, ex.Allocated);
        Assert.Equal("Allocating 2048 bytes would exceed the arena limit of 1024 bytes (512 bytes already allocated).", ex.Message);
    }
}
