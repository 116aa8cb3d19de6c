using System.Text;
using RequestArena;
using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class SharedMemorySlabProviderTests
{
    [Fact]
    public void ArenaOnSharedSlabs_BytesWrittenAreReadByASecondProcess()
    {
        var shared = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = "ra-reader-test" });
        var slabs = new SharedMemorySlabProvider(shared);
        using var pool = new SlabPool(new SlabPoolOptions { Provider = slabs, TrimInterval = Timeout.InfiniteTimeSpan });
        using var arena = new Arena(pool);
        arena.AllocateMemory(1000);
        Memory<byte> message = arena.AllocateMemory(32);
        Encoding.ASCII.GetBytes("written by the server, read here").CopyTo(message.Span);

        Assert.True(slabs.TryLocate(message, out SharedMemoryHandle? block, out long offset));
        var (exitCode, output, error) = SharedMemoryReaderProcess.Run(block!.Name, offset.ToString(), message.Length.ToString(), shared.Directory ?? "");

        Assert.True(exitCode == 0, $"reader exited with {exitCode}: {error}");
        Assert.Equal(Convert.ToHexStringLower(message.Span), output);
        Assert.Equal("written by the server, read here", Encoding.ASCII.GetString(Convert.FromHexString(output)));
    }

    [Fact]
    public void SecondProcess_UnknownBlock_ExitsWithNotFound()
    {
        var (exitCode, _, error) = SharedMemoryReaderProcess.Run("requestarena-missing-block", "0", "1", MemoryMappedSharedMemoryProvider.DefaultDirectory ?? "");

        Assert.Equal(3, exitCode);
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Pool_TakesItsSlabsFromTheProviderAndGivesThemBack()
    {
        var shared = new MemoryMappedSharedMemoryProvider();
        var slabs = new SharedMemorySlabProvider(shared);
        var pool = new SlabPool(new SlabPoolOptions { Provider = slabs, TrimInterval = Timeout.InfiniteTimeSpan });
        using (var arena = new Arena(pool))
        {
            arena.AllocateMemory(100);
            arena.AllocateMemory(pool.SlabSize * 2);
            Assert.Equal(2, shared.BlocksInUse);
            Assert.Equal(2, slabs.GetBlocks().Length);
        }

        pool.Dispose();

        Assert.Equal(0, shared.BlocksInUse);
        Assert.Empty(slabs.GetBlocks());
    }

    [Fact]
    public void Allocate_ProviderOutOfBudget_ArenaSeesResources()
    {
        var shared = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { MaxBytes = 1024 });
        using var pool = new SlabPool(new SlabPoolOptions { Provider = new SharedMemorySlabProvider(shared), TrimInterval = Timeout.InfiniteTimeSpan });
        using var arena = new Arena(pool);

        var exception = Assert.Throws<InsufficientMemoryException>(() => arena.AllocateMemory(16));

        Assert.Contains(nameof(SlabProviderStatus.Resources), exception.Message);
    }

    [Fact]
    public void Allocate_PassesStatusThrough()
    {
        var slabs = new SharedMemorySlabProvider(new MemoryMappedSharedMemoryProvider());

        Assert.Equal(SlabProviderStatus.InvalidParameter, slabs.Allocate(0, 4096, out SlabBlock block));
        Assert.True(block.IsEmpty);
    }

    [Fact]
    public void Allocate_ThenFree_ReturnsTheBlockToTheProvider()
    {
        var shared = new MemoryMappedSharedMemoryProvider();
        var slabs = new SharedMemorySlabProvider(shared, providerContext: "ctx");

        Assert.Equal(SlabProviderStatus.Success, slabs.Allocate(4096, 4096, out SlabBlock block));
        Assert.IsType<SharedMemoryHandle>(block.Handle);
        Assert.Equal(1, shared.BlocksInUse);

        slabs.Free(block);
        slabs.Free(block);

        Assert.Equal(0, shared.BlocksInUse);
        Assert.True(((SharedMemoryHandle)block.Handle!).IsFreed);
    }

    [Fact]
    public void TryLocate_MemoryElsewhere_ReturnsFalse()
    {
        var slabs = new SharedMemorySlabProvider(new MemoryMappedSharedMemoryProvider());

        Assert.False(slabs.TryLocate(new byte[10], out SharedMemoryHandle? handle, out long offset));
        Assert.Null(handle);
        Assert.Equal(0, offset);
    }

    [Fact]
    public void Name_IsSharedMemory()
    {
        Assert.Equal("shared-memory", new SharedMemorySlabProvider(new MemoryMappedSharedMemoryProvider()).Name);
    }
}
