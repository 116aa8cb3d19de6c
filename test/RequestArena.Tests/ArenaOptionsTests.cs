namespace RequestArena.Tests;

public class ArenaOptionsTests
{
    [Fact]
    public void Defaults_AreSafe()
    {
        var options = new ArenaOptions();

        Assert.Equal(0, options.MaxBytes);
        Assert.True(options.ZeroMemory);
        Assert.True(options.DetectUseAfterRelease);
        Assert.Equal(8, options.Alignment);
    }

    [Fact]
    public void Options_ChangedAfterArenaCreated_DoNotAffectIt()
    {
        var options = new ArenaOptions { MaxBytes = 100 };
        using var arena = new Arena(TestPools.Create(), options);

        options.MaxBytes = 10;
        options.Alignment = 4096;

        Assert.Equal(100, arena.MaxBytes);
        Assert.Equal(8, arena.Alignment);
        Assert.Equal(50, arena.AllocateMemory(50).Length);
    }
}
