using RequestArena;
using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class MemoryMappedSharedMemoryProviderTests : IDisposable
{
    private readonly MemoryMappedSharedMemoryProvider _provider = new(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = "ra-test" });
    private readonly List<SharedMemoryHandle> _handles = [];

    public void Dispose()
    {
        foreach (SharedMemoryHandle handle in _handles)
        {
            _provider.FreeSharedMemory(null, handle);
        }
    }

    [Fact]
    public void AllocateSharedMemory_ReturnsAlignedZeroedBlock()
    {
        SlabProviderStatus status = _provider.AllocateSharedMemory(null, new SharedMemoryParameters(10_000), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.Success, status);
        Track(handle);
        Assert.Equal(10_000, handle!.Length);
        Assert.Equal(0, handle.Address % 4096);
        Assert.StartsWith("ra-test-", handle.Name);
        Assert.True(handle.GetSpan().IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(1, _provider.BlocksInUse);
        Assert.Equal(10_000, _provider.BytesInUse);
    }

    [Fact]
    public void AllocateSharedMemory_BytesAreVisibleThroughASecondMappingByName()
    {
        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        Track(handle);
        handle!.GetSpan()[100] = 0x42;

        using SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(handle.Name, _provider.Directory);
        Assert.Equal(0x42, mapping.GetSpan(handle.Offset + 100, 1)[0]);

        // And the other way round: the mapping writes, the block sees it.
        mapping.GetSpan(handle.Offset + 200, 1)[0] = 0x17;
        Assert.Equal(0x17, handle.GetSpan()[200]);
    }

    [Fact]
    public void AllocateSharedMemory_LargeAlignment_IsHonouredWithPadding()
    {
        SlabProviderStatus status = _provider.AllocateSharedMemory(null, new SharedMemoryParameters(8192, 64 * 1024), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.Success, status);
        Track(handle);
        Assert.Equal(0, handle!.Address % (64 * 1024));
        Assert.InRange(handle.Offset, 0, 64 * 1024 - 4096);
    }

    [Theory]
    [InlineData(0, 4096)]
    [InlineData(-5, 4096)]
    [InlineData(4096, 0)]
    [InlineData(4096, 3000)]
    [InlineData(4096, 1 << 21)]
    public void AllocateSharedMemory_BadParameters_ReturnsInvalidParameter(int length, int alignment)
    {
        SlabProviderStatus status = _provider.AllocateSharedMemory(null, new SharedMemoryParameters(length, alignment), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.InvalidParameter, status);
        Assert.Null(handle);
        Assert.Equal(0, _provider.BytesInUse);
    }

    [Fact]
    public void AllocateSharedMemory_OverMaxBytes_ReturnsResources()
    {
        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { MaxBytes = 16 * 1024 });
        Assert.Equal(SlabProviderStatus.Success, provider.AllocateSharedMemory(null, new SharedMemoryParameters(12 * 1024), out SharedMemoryHandle? first));

        SlabProviderStatus status = provider.AllocateSharedMemory(null, new SharedMemoryParameters(8 * 1024), out SharedMemoryHandle? second);

        Assert.Equal(SlabProviderStatus.Resources, status);
        Assert.Null(second);
        Assert.Equal(12 * 1024, provider.BytesInUse);
        Assert.Equal(SlabProviderStatus.Success, provider.AllocateSharedMemory(null, new SharedMemoryParameters(4 * 1024), out SharedMemoryHandle? third));
        provider.FreeSharedMemory(null, first!);
        provider.FreeSharedMemory(null, third!);
        Assert.Equal(0, provider.BytesInUse);
    }

    [Fact]
    public void AllocateSharedMemory_DirectoryMissing_ReturnsFailure()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid()) });

        SlabProviderStatus status = provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.Failure, status);
        Assert.Null(handle);
        Assert.Equal(0, provider.BytesInUse);
        Assert.Equal(0, provider.BlocksInUse);
    }

    [Fact]
    public void FreeSharedMemory_RemovesTheBlock()
    {
        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.Success, _provider.FreeSharedMemory(null, handle!));

        Assert.True(handle!.IsFreed);
        Assert.Equal(0, _provider.BlocksInUse);
        Assert.Throws<ObjectDisposedException>(() => handle.GetSpan().Length);
        Assert.Throws<FileNotFoundException>(() => MemoryMappedSharedMemoryProvider.OpenExisting(handle.Name, _provider.Directory));
    }

    [Fact]
    public void FreeSharedMemory_Twice_ReturnsInvalidParameter()
    {
        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        _provider.FreeSharedMemory(null, handle!);

        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, handle!));
        Assert.Equal(0, _provider.BytesInUse);
    }

    [Fact]
    public void FreeSharedMemory_HandleOfAnotherProvider_ReturnsInvalidParameterAndLeavesItMapped()
    {
        var other = new MemoryMappedSharedMemoryProvider();
        other.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? foreign);

        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, foreign!));

        Assert.False(foreign!.IsFreed);
        foreign.GetSpan()[0] = 1;
        Assert.Equal(SlabProviderStatus.Success, other.FreeSharedMemory(null, foreign));
    }

    [Fact]
    public void FreeSharedMemory_HandleNotFromAnyProvider_ReturnsInvalidParameter()
    {
        var handle = new SharedMemoryHandle("made-up", 4096, 10);

        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, handle));
        Assert.False(handle.IsFreed);
    }

    [Fact]
    public void BackingFile_IsReadableByItsOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        Track(handle);

        UnixFileMode mode = File.GetUnixFileMode(Path.Combine(_provider.Directory!, handle!.Name));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a/b")]
    [InlineData("")]
    public void OpenExisting_NameThatIsNotABlockName_Throws(string name)
    {
        Assert.ThrowsAny<ArgumentException>(() => MemoryMappedSharedMemoryProvider.OpenExisting(name));
    }

    [Fact]
    public void OpenExisting_UnknownName_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => MemoryMappedSharedMemoryProvider.OpenExisting("requestarena-no-such-block", _provider.Directory));
    }

    [Fact]
    public void Constructor_UnsafePrefix_Throws()
    {
        Assert.Throws<ArgumentException>(() => new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = "../x" }));
    }

    [Fact]
    public void ProviderContext_IsPassedThroughUnused()
    {
        object context = new();

        Assert.Equal(SlabProviderStatus.Success, _provider.AllocateSharedMemory(context, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle));
        Assert.Equal(SlabProviderStatus.Success, _provider.FreeSharedMemory(context, handle!));
    }

    private void Track(SharedMemoryHandle? handle)
    {
        Assert.NotNull(handle);
        _handles.Add(handle);
    }
}
