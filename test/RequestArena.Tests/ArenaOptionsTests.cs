using RequestArena.Adapters;

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

    // Unchecked memory over a slab the pool frees when it drops it would be a use after free: refused up front.
    [Fact]
    public void DetectUseAfterReleaseOff_OnSlabsThatAreFreedWhenDropped_RefusedWhenTheArenaIsCreated()
    {
        using var native = TestPools.Create(4096, maxRetained: 0, provider: NativeMemorySlabProvider.Instance);
        using var shared = TestPools.Create(4096, maxRetained: 0, provider: new SharedMemorySlabProvider(new MemoryMappedSharedMemoryProvider()));
        using var custom = TestPools.Create(4096, maxRetained: 0, provider: new UndeclaredProvider());

        foreach (SlabPool pool in new[] { native, shared, custom })
        {
            var ex = Assert.Throws<ArgumentException>(() => new Arena(pool, new ArenaOptions { DetectUseAfterRelease = false }));
            Assert.Contains("DetectUseAfterRelease", ex.Message);
            Assert.Contains("SlabPoolOptions.Provider", ex.Message);
            Assert.Contains($"'{pool.Provider.Name}'", ex.Message);

            // Nothing was taken, and the checked default still works on the same pool.
            Assert.Equal(0, pool.GetStatistics().ProviderAllocatedBytes);
            using var arena = new Arena(pool);
            Assert.Equal(100, arena.AllocateMemory(100).Length);
        }
    }

    [Fact]
    public void DetectUseAfterReleaseOff_OnPinnedArraySlabs_IsAllowed()
    {
        using var pool = TestPools.Create(4096, maxRetained: 0);
        using var arena = new Arena(pool, new ArenaOptions { DetectUseAfterRelease = false });

        Memory<byte> kept = arena.AllocateMemory(100);
        arena.Reset();

        // The array outlives the reset: reading kept memory is a stale read, never a read of freed memory.
        Assert.Equal(100, kept.Span.Length);
        Assert.True(PinnedArraySlabProvider.Instance.BlocksOutliveRelease);
        Assert.False(NativeMemorySlabProvider.Instance.BlocksOutliveRelease);
    }

    // A provider that does not say whether its blocks outlive their release is taken as one whose blocks do not.
    private sealed class UndeclaredProvider : ISlabProvider
    {
        public string Name => "undeclared";

        public SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block) => PinnedArraySlabProvider.Instance.Allocate(length, alignment, out block);

        public void Free(in SlabBlock block)
        {
        }
    }
}
