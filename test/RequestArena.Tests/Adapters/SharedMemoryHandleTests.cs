using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class SharedMemoryHandleTests
{
    [Fact]
    public void TryMarkFreed_SucceedsOnce()
    {
        var handle = new SharedMemoryHandle("block", 4096, 16);

        Assert.True(handle.TryMarkFreed());
        Assert.False(handle.TryMarkFreed());
        Assert.True(handle.IsFreed);
    }

    [Fact]
    public void Constructor_RejectsWhatCannotBeABlock()
    {
        Assert.ThrowsAny<ArgumentException>(() => new SharedMemoryHandle("", 4096, 16));
        Assert.Throws<ArgumentException>(() => new SharedMemoryHandle("block", 0, 16));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedMemoryHandle("block", 4096, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedMemoryHandle("block", 4096, 16, offset: -1));
    }

    [Fact]
    public void Constructor_BlockPastTheEndOfTheAddressSpace_Throws()
    {
        // Its GetSpan would otherwise cover addresses that wrap round to the bottom of the address space.
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedMemoryHandle("block", -4096, 8192));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedMemoryHandle("block", -1, int.MaxValue));
        Assert.Equal(4095, new SharedMemoryHandle("block", -4096, 4095).Length);
    }

    [Fact]
    public void Properties_AreWhatTheProviderGave()
    {
        object state = new();
        var handle = new SharedMemoryHandle("block", 8192, 100, 4096, state);

        Assert.Equal("block", handle.Name);
        Assert.Equal(8192, handle.Address);
        Assert.Equal(100, handle.Length);
        Assert.Equal(4096, handle.Offset);
        Assert.Same(state, handle.ProviderState);
        Assert.False(handle.IsFreed);
    }
}
