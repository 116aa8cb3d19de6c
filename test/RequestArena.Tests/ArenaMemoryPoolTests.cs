namespace RequestArena.Tests;

public class ArenaMemoryPoolTests
{
    [Fact]
    public void Rent_ReturnsArenaMemoryOfTheSizeAsked()
    {
        using var arena = new Arena(TestPools.Create());
        using var pool = new ArenaMemoryPool(arena);

        using var owner = pool.Rent(100);
        using var byDefault = pool.Rent();

        Assert.Equal(100, owner.Memory.Length);
        Assert.Equal(4096, byDefault.Memory.Length);
        Assert.Equal(4196, arena.AllocatedBytes);
    }

    [Fact]
    public void Owner_AfterDispose_ThrowsObjectDisposed()
    {
        using var arena = new Arena(TestPools.Create());
        using var pool = new ArenaMemoryPool(arena);
        var owner = pool.Rent(10);

        owner.Dispose();

        Assert.Throws<ObjectDisposedException>(() => owner.Memory);
    }

    [Fact]
    public void Rent_BadSize_ThrowsArgumentOutOfRange()
    {
        using var arena = new Arena(TestPools.Create());
        using var pool = new ArenaMemoryPool(arena);

        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(-2));
        Assert.Equal(0, arena.AllocatedBytes);
    }

    [Fact]
    public void Rent_OverQuota_ThrowsArenaLimitExceeded()
    {
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { MaxBytes = 100 });
        using var pool = new ArenaMemoryPool(arena);

        Assert.Throws<ArenaLimitExceededException>(() => pool.Rent(101));
    }
}
