using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class SharedMemoryMappingTests : IDisposable
{
    private readonly MemoryMappedSharedMemoryProvider _provider = new();
    private readonly SharedMemoryHandle _handle;

    public SharedMemoryMappingTests()
    {
        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(8192), out SharedMemoryHandle? handle);
        _handle = handle!;
    }

    public void Dispose() => _provider.FreeSharedMemory(null, _handle);

    [Fact]
    public void Length_CoversTheBlock()
    {
        using SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(_handle.Name, _provider.Directory);

        Assert.Equal(_handle.Name, mapping.Name);
        Assert.True(mapping.Length >= _handle.Offset + _handle.Length);
    }

    [Fact]
    public void GetSpan_OutsideTheMapping_Throws()
    {
        using SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(_handle.Name, _provider.Directory);

        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(mapping.Length - 1, 2).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(-1, 1).Length);
    }

    // The offset typically comes from another process: sums that wrap must not slip past the check.
    [Theory]
    [InlineData(long.MaxValue - 10, 100)]
    [InlineData(long.MaxValue, 1)]
    [InlineData(long.MaxValue, int.MaxValue)]
    [InlineData(long.MinValue, 1)]
    [InlineData(1, int.MaxValue)]
    [InlineData(0, int.MinValue)]
    [InlineData(-1, 0)]
    public void GetSpan_OffsetOrLengthNearTheLimits_ThrowsWithoutWrapping(long offset, int length)
    {
        using SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(_handle.Name, _provider.Directory);

        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(offset, length).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(mapping.Length, 1).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.GetSpan(mapping.Length + 1, 0).Length);
        Assert.Equal(0, mapping.GetSpan(mapping.Length, 0).Length);
        Assert.Equal(1, mapping.GetSpan(mapping.Length - 1, 1).Length);
    }

    [Fact]
    public void GetSpan_AfterDispose_Throws()
    {
        SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(_handle.Name, _provider.Directory);
        mapping.Dispose();
        mapping.Dispose();

        Assert.Throws<ObjectDisposedException>(() => mapping.GetSpan(0, 1).Length);
    }

    [Fact]
    public void Mapping_OutlivesTheFreedBlock()
    {
        var provider = new MemoryMappedSharedMemoryProvider();
        provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        handle!.GetSpan()[7] = 99;
        using SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(handle.Name, provider.Directory);

        provider.FreeSharedMemory(null, handle);

        Assert.Equal(99, mapping.GetSpan(handle.Offset + 7, 1)[0]);
    }
}
