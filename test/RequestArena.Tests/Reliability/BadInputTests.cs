namespace RequestArena.Tests.Reliability;

// Every public core entry point with bad input: a typed error, and the arena or pool still works afterwards.
public class BadInputTests
{
    public static TheoryData<string, Action<Arena>, Type> ArenaCases() => new()
    {
        { "AllocateMemory(-1)", a => a.AllocateMemory(-1), typeof(ArgumentOutOfRangeException) },
        { "AllocateMemory(int.MinValue)", a => a.AllocateMemory(int.MinValue), typeof(ArgumentOutOfRangeException) },
        { "AllocateMemory(int.MaxValue)", a => a.AllocateMemory(int.MaxValue), typeof(ArgumentOutOfRangeException) },
        { "TryAllocateMemory(-5)", a => a.TryAllocateMemory(-5, out _), typeof(ArgumentOutOfRangeException) },
        { "TryAllocateMemory(int.MaxValue)", a => a.TryAllocateMemory(int.MaxValue, out _), typeof(ArgumentOutOfRangeException) },
        { "Allocate<int>(-1)", a => a.Allocate<int>(-1), typeof(ArgumentOutOfRangeException) },
        { "Allocate<long>(int.MaxValue)", a => a.Allocate<long>(int.MaxValue), typeof(ArgumentOutOfRangeException) },
        { "RegisterForCleanup(null)", a => a.RegisterForCleanup(null!), typeof(ArgumentNullException) },
        { "MaxBytes = -1", a => a.MaxBytes = -1, typeof(ArgumentOutOfRangeException) },
        { "new ArenaBufferWriter(arena).GetSpan(-1)", a => new ArenaBufferWriter(a).GetSpan(-1), typeof(ArgumentOutOfRangeException) },
        { "new ArenaBufferWriter(arena, 0)", a => new ArenaBufferWriter(a, 0), typeof(ArgumentOutOfRangeException) },
        { "new ArenaMemoryPool(arena).Rent(-2)", a => new ArenaMemoryPool(a).Rent(-2), typeof(ArgumentOutOfRangeException) },
    };

    [Fact]
    public void AllocateTyped_NegativeCount_NamesCount()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);

        ArgumentOutOfRangeException ex = Assert.Throws<ArgumentOutOfRangeException>(() => arena.Allocate<int>(-1));

        Assert.Equal("count", ex.ParamName);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(int.MaxValue / 8 + 1)]
    public void AllocateTyped_CountPastTheLargestBlock_NamesCount(int count)
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);

        ArgumentOutOfRangeException ex = Assert.Throws<ArgumentOutOfRangeException>(() => arena.Allocate<long>(count));

        Assert.Equal("count", ex.ParamName);
    }

    [Theory]
    [MemberData(nameof(ArenaCases))]
    public void ArenaEntryPoint_BadInput_ThrowsTypedErrorAndKeepsState(string call, Action<Arena> act, Type expected)
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = 0 });
        Memory<byte> before = arena.AllocateMemory(10);
        before.Span.Fill(3);

        Exception ex = Assert.ThrowsAny<Exception>(() => act(arena));

        Assert.True(expected == ex.GetType(), $"{call} threw {ex.GetType().Name}, expected {expected.Name}");
        Assert.Equal(10, arena.AllocatedBytes);
        Assert.True(before.Span.IndexOfAnyExcept((byte)3) < 0);
        Assert.Equal(20, arena.AllocateMemory(20).Length);
    }

    public static TheoryData<string, Func<object>> ConstructionCases() => new()
    {
        { "Alignment 0", () => new Arena(new ArenaOptions { Alignment = 0 }) },
        { "Alignment 3", () => new Arena(new ArenaOptions { Alignment = 3 }) },
        { "Alignment 8192", () => new Arena(new ArenaOptions { Alignment = 8192 }) },
        { "MaxBytes -1", () => new Arena(new ArenaOptions { MaxBytes = -1 }) },
        { "SlabSize 1024", () => new SlabPool(new SlabPoolOptions { SlabSize = 1024 }) },
        { "SlabSize 32 MiB", () => new SlabPool(new SlabPoolOptions { SlabSize = 32 << 20 }) },
        { "MaxRetainedBytes -1", () => new SlabPool(new SlabPoolOptions { MaxRetainedBytes = -1 }) },
        { "TrimInterval -1 s", () => new SlabPool(new SlabPoolOptions { TrimInterval = TimeSpan.FromSeconds(-1) }) },
        { "TrimInterval 0.5 ms", () => new SlabPool(new SlabPoolOptions { TrimInterval = TimeSpan.FromTicks(5_000) }) },
        { "TrimInterval TimeSpan.MaxValue", () => new SlabPool(new SlabPoolOptions { TrimInterval = TimeSpan.MaxValue }) },
    };

    [Theory]
    [MemberData(nameof(ConstructionCases))]
    public void Construction_BadOption_ThrowsArgumentExceptionNamingTheOption(string option, Func<object> create)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(create);

        Assert.Contains(option.Split(' ')[0], ex.Message);
    }

    [Fact]
    public void AfterDispose_EveryEntryPointThrowsObjectDisposed()
    {
        var arena = new Arena(TestPools.Create());
        arena.Dispose();

        Assert.Throws<ObjectDisposedException>(() => arena.AllocateMemory(1));
        Assert.Throws<ObjectDisposedException>(() => arena.AllocateMemory(0));
        Assert.Throws<ObjectDisposedException>(() => arena.TryAllocateMemory(1, out _));
        Assert.Throws<ObjectDisposedException>(() => arena.Allocate<byte>(1));
        Assert.Throws<ObjectDisposedException>(() => arena.MaxBytes = 100);
        Assert.Throws<ObjectDisposedException>(() => arena.Reset());
        Assert.Throws<ObjectDisposedException>(() => arena.RegisterForCleanup(arena));
        Assert.Throws<ObjectDisposedException>(() => new ArenaBufferWriter(arena).GetSpan(1));
        Assert.Equal(0, arena.AllocatedBytes);
    }
}
