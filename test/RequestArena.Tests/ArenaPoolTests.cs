namespace RequestArena.Tests;

public class ArenaPoolTests
{
    [Fact]
    public void RentReturnRent_ReusesTheArenaAndInvalidatesOldMemory()
    {
        using var slabs = TestPools.Create();
        var pool = new ArenaPool(slabs, new ArenaOptions { MaxBytes = 1000 });
        Arena first = pool.Rent();
        Memory<byte> memory = first.AllocateMemory(10);

        pool.Return(first);
        Arena second = pool.Rent();

        Assert.Same(first, second);
        Assert.Equal(0, second.AllocatedBytes);
        Assert.Equal(1000, second.MaxBytes);
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
        Assert.Equal(0, slabs.GetStatistics().SlabsInUse);
    }

    [Fact]
    public void Return_CleanupThrows_ArenaIsStillCleanAndPooled()
    {
        using var slabs = TestPools.Create();
        var pool = new ArenaPool(slabs);
        Arena arena = pool.Rent();
        arena.AllocateMemory(10);
        arena.RegisterForCleanup(new Throwing());

        Assert.Throws<AggregateException>(() => pool.Return(arena));

        Assert.Equal(0, slabs.GetStatistics().SlabsInUse);
        Assert.Same(arena, pool.Rent());
    }

    [Fact]
    public void Return_DisposedArena_IsNotReused()
    {
        using var slabs = TestPools.Create();
        var pool = new ArenaPool(slabs);
        Arena arena = pool.Rent();
        arena.Dispose();

        pool.Return(arena);

        Assert.NotSame(arena, pool.Rent());
    }

    [Fact]
    public void Return_ArenaWithOtherOptionsOnTheSameSlabPool_ThrowsAndIsNeverRented()
    {
        using var slabs = TestPools.Create();
        var pool = new ArenaPool(slabs, new ArenaOptions { MaxBytes = 1000 });
        using var stranger = new Arena(slabs, new ArenaOptions { ZeroMemory = false });

        Assert.Throws<ArgumentException>(() => pool.Return(stranger));

        Arena rented = pool.Rent();
        Assert.NotSame(stranger, rented);
        Assert.True(rented.ZeroMemory);
        Assert.Equal(1000, rented.MaxBytes);
    }

    [Fact]
    public void Return_Twice_ThrowsAndTwoRentersNeverShareAnArena()
    {
        using var slabs = TestPools.Create();
        var pool = new ArenaPool(slabs);
        Arena arena = pool.Rent();
        pool.Return(arena);

        Assert.Throws<InvalidOperationException>(() => pool.Return(arena));

        Arena first = pool.Rent();
        Arena second = pool.Rent();
        Assert.NotSame(first, second);
        Memory<byte> live = first.AllocateMemory(16);
        pool.Return(second);
        Assert.Equal(16, live.Span.Length);
    }

    [Fact]
    public void Return_QuotaChangedByTheRenter_NextRenterGetsThePoolsQuota()
    {
        using var slabs = TestPools.Create();
        var pool = new ArenaPool(slabs, new ArenaOptions { MaxBytes = 1000 });
        Arena arena = pool.Rent();
        arena.MaxBytes = 0;

        pool.Return(arena);
        Arena next = pool.Rent();

        Assert.Same(arena, next);
        Assert.Equal(1000, next.MaxBytes);
        Assert.Throws<ArenaLimitExceededException>(() => next.AllocateMemory(1001));
    }

    // The dispose is carried out by the reset running the cleanup: the arena ends disposed and must not be pooled, and
    // nothing of that return may be left for a later Return on the same thread to report.
    [Fact]
    public void Return_CleanupDisposesTheArena_NotPooledAndNothingLeftForTheNextReturn()
    {
        using var slabs = TestPools.Create();
        var pool = new ArenaPool(slabs);
        var other = new ArenaPool(slabs);
        Arena arena = pool.Rent();
        arena.AllocateMemory(16);
        arena.RegisterForCleanup(new Disposing(arena));
        arena.RegisterForCleanup(new Throwing());

        var failure = Assert.Throws<AggregateException>(() => pool.Return(arena));
        Arena innocent = other.Rent();
        innocent.AllocateMemory(16);
        Exception? later = Record.Exception(() => other.Return(innocent));
        Arena next = pool.Rent();

        Assert.IsType<InvalidOperationException>(Assert.Single(failure.InnerExceptions));
        Assert.True(arena.IsDisposed);
        Assert.Null(later);
        Assert.NotSame(arena, next);
        Assert.Equal(16, next.AllocateMemory(16).Length);
        Assert.Equal(1, slabs.GetStatistics().SlabsInUse);
        pool.Return(next);
    }

    // Return's reset joins the release under way on another thread, which ends the cycle (or disposes the arena) only
    // once its cleanups have run: a renter handed the arena meanwhile would allocate memory that release then takes.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Return_WhileAReleaseOnAnotherThreadRunsItsCleanups_ArenaIsNotPooled(bool dispose)
    {
        using var slabs = TestPools.Create();
        var pool = new ArenaPool(slabs);
        Arena arena = pool.Rent();
        arena.AllocateMemory(16);
        using var inCleanup = new ManualResetEventSlim();
        using var finish = new ManualResetEventSlim();
        arena.RegisterForCleanup(new Blocking(inCleanup, finish));
        Task release = Task.Run(dispose ? arena.Dispose : arena.Reset);
        Assert.True(inCleanup.Wait(TimeSpan.FromSeconds(10)));

        pool.Return(arena);
        Arena next = pool.Rent();
        Memory<byte> renters = next.AllocateMemory(16);
        finish.Set();
        await release.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.NotSame(arena, next);
        Assert.Equal(16, renters.Span.Length);
        Assert.Equal(dispose, arena.IsDisposed);
        pool.Return(next);
        Assert.Equal(0, slabs.GetStatistics().SlabsInUse);
    }

    [Fact]
    public void Return_ArenaOfAnotherPool_ThrowsArgumentException()
    {
        using var slabs = TestPools.Create();
        var pool = new ArenaPool(slabs);
        using var stranger = new Arena(TestPools.Create());

        Assert.Throws<ArgumentException>(() => pool.Return(stranger));
    }

    [Fact]
    public void Constructor_BadOptions_ThrowArgumentException()
    {
        using var slabs = TestPools.Create();

        Assert.Throws<ArgumentException>(() => new ArenaPool(slabs, new ArenaOptions { Alignment = 5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ArenaPool(slabs, maximumRetained: -1));
        Assert.Equal(Environment.ProcessorCount * 4, new ArenaPool(slabs).MaximumRetained);
    }

    [Fact]
    public void Constructor_DetectUseAfterReleaseOffOnNativeSlabs_ThrowsBeforeAnyArenaExists()
    {
        using var slabs = TestPools.Create(provider: NativeMemorySlabProvider.Instance);

        var ex = Assert.Throws<ArgumentException>(() => new ArenaPool(slabs, new ArenaOptions { DetectUseAfterRelease = false }));

        Assert.Contains("DetectUseAfterRelease", ex.Message);
        Assert.Contains("'native'", ex.Message);
        Assert.Equal(0, slabs.GetStatistics().ProviderAllocatedBytes);
    }

    [Fact]
    public void Options_ChangedByTheCaller_ChangeNothingInThePool()
    {
        using var slabs = TestPools.Create(provider: NativeMemorySlabProvider.Instance);
        var pool = new ArenaPool(slabs);
        ArenaOptions copy = pool.Options;

        // Neither may reach an arena the pool creates later: the first would leak bytes between requests, the second
        // would skip the validation that refuses unchecked memory over slabs that are freed when dropped.
        copy.ZeroMemory = false;
        copy.DetectUseAfterRelease = false;
        Arena arena = pool.Rent();

        Assert.True(arena.ZeroMemory);
        Assert.True(pool.Options.ZeroMemory);
        Assert.True(pool.Options.DetectUseAfterRelease);
        Assert.NotSame(pool.Options, pool.Options);
        pool.Return(arena);
    }

    private sealed class Blocking(ManualResetEventSlim entered, ManualResetEventSlim finish) : IDisposable
    {
        public void Dispose()
        {
            entered.Set();
            finish.Wait(TimeSpan.FromSeconds(10));
        }
    }

    private sealed class Disposing(Arena arena) : IDisposable
    {
        public void Dispose() => arena.Dispose();
    }

    private sealed class Throwing : IDisposable
    {
        public void Dispose() => throw new InvalidOperationException("cleanup failed");
    }
}
