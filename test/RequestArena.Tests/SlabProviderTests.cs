namespace RequestArena.Tests;

public class PinnedArraySlabProviderTests
{
    [Theory]
    [InlineData(4096, 8)]
    [InlineData(65536, 4096)]
    [InlineData(100, 64)]
    public void Allocate_ReturnsPinnedAlignedBlock(int length, int alignment)
    {
        SlabProviderStatus status = PinnedArraySlabProvider.Instance.Allocate(length, alignment, out SlabBlock block);

        Assert.Equal(SlabProviderStatus.Success, status);
        Assert.Equal(length, block.Length);
        Assert.Equal(0, block.Address % alignment);
        Assert.NotNull(block.Array);
        Assert.True(GC.GetGeneration(block.Array!) >= 0);
    }

    [Theory]
    [InlineData(0, 8)]
    [InlineData(-1, 8)]
    [InlineData(100, 3)]
    [InlineData(int.MaxValue, 8)]
    public void Allocate_BadParameters_ReturnsInvalidParameter(int length, int alignment)
    {
        SlabProviderStatus status = PinnedArraySlabProvider.Instance.Allocate(length, alignment, out SlabBlock block);

        Assert.Equal(SlabProviderStatus.InvalidParameter, status);
        Assert.True(block.IsEmpty);
    }
}

public class NativeMemorySlabProviderTests
{
    [Fact]
    public void AllocateAndFree_TrackOutstandingBytes()
    {
        var provider = new NativeMemorySlabProvider();

        Assert.Equal(SlabProviderStatus.Success, provider.Allocate(8192, 4096, out SlabBlock block));
        Assert.Equal(0, block.Address % 4096);
        Assert.Null(block.Array);
        Assert.Equal(8192, provider.OutstandingBytes);

        provider.Free(block);
        Assert.Equal(0, provider.OutstandingBytes);
    }

    [Fact]
    public void Allocate_BadParameters_ReturnsInvalidParameter()
    {
        var provider = new NativeMemorySlabProvider();

        Assert.Equal(SlabProviderStatus.InvalidParameter, provider.Allocate(0, 8, out _));
        Assert.Equal(SlabProviderStatus.InvalidParameter, provider.Allocate(10, 6, out _));
        Assert.Equal(0, provider.OutstandingBytes);
    }

    // A second free() of the same address aborts the process (glibc) or frees memory handed out again since.
    [Fact]
    public void Free_Twice_ThrowsAndKeepsOutstandingBytes()
    {
        var provider = new NativeMemorySlabProvider();
        provider.Allocate(64, 8, out SlabBlock block);
        provider.Free(block);

        var ex = Assert.Throws<ArgumentException>(() => provider.Free(block));

        Assert.Equal("block", ex.ParamName);
        Assert.Equal(0, provider.OutstandingBytes);
    }

    [Fact]
    public void Free_BlockOfAnotherProvider_ThrowsAndLeavesItAllocated()
    {
        var provider = new NativeMemorySlabProvider();
        var other = new NativeMemorySlabProvider();
        provider.Allocate(64, 8, out SlabBlock mine);
        other.Allocate(128, 8, out SlabBlock theirs);
        PinnedArraySlabProvider.Instance.Allocate(64, 8, out SlabBlock managed);

        Assert.Throws<ArgumentException>(() => provider.Free(theirs));
        Assert.Throws<ArgumentException>(() => provider.Free(managed));
        Assert.Throws<ArgumentException>(() => provider.Free(new SlabBlock(mine.Address, mine.Length)));

        Assert.Equal(64, provider.OutstandingBytes);
        Assert.Equal(128, other.OutstandingBytes);
        other.Free(theirs);
        provider.Free(mine);
        Assert.Equal(0, other.OutstandingBytes);
        Assert.Equal(0, provider.OutstandingBytes);
    }

    [Fact]
    public void Free_BlockWithItsHandleButAnotherAddressOrLength_Throws()
    {
        var provider = new NativeMemorySlabProvider();
        provider.Allocate(4096, 64, out SlabBlock block);

        Assert.Throws<ArgumentException>(() => provider.Free(new SlabBlock(block.Address + 64, 64, block.Handle)));
        Assert.Throws<ArgumentException>(() => provider.Free(new SlabBlock(block.Address, 8192, block.Handle)));

        Assert.Equal(4096, provider.OutstandingBytes);
        provider.Free(block);
        Assert.Equal(0, provider.OutstandingBytes);
    }
}

public class SlabBlockTests
{
    [Fact]
    public void Constructor_AddressRangePastTheEndOfTheAddressSpace_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SlabBlock(-4096, 8192));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SlabBlock(-1, int.MaxValue));
        Assert.Equal(4095, new SlabBlock(-4096, 4095).Length);
    }

    [Fact]
    public void Constructor_ArrayOutOfRange_Throws()
    {
        var array = GC.AllocateArray<byte>(16, pinned: true);

        Assert.Throws<ArgumentOutOfRangeException>(() => new SlabBlock(array, 8, 9));
        Assert.Throws<ArgumentNullException>(() => new SlabBlock(null!, 0, 0));
        Assert.Throws<ArgumentException>(() => new SlabBlock(0, 10));
        Assert.Equal(8, new SlabBlock(array, 8, 8).Length);
    }

    [Fact]
    public void Constructor_EmptyArray_DescribesAnEmptyBlockInIt()
    {
        byte[] empty = GC.AllocateArray<byte>(0, pinned: true);

        var block = new SlabBlock(empty, 0, 0);

        Assert.Same(empty, block.Array);
        Assert.Equal(0, block.Length);
        Assert.False(block.IsEmpty);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SlabBlock(empty, 1, 0));
    }
}
