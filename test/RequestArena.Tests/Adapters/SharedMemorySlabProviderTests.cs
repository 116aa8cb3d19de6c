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
    public void Free_ProviderRefuses_ThrowsWithTheStatusAndKeepsTheBlockListed()
    {
        var provider = new RefusingProvider { FreeStatus = SlabProviderStatus.Failure };
        var slabs = new SharedMemorySlabProvider(provider);
        Assert.Equal(SlabProviderStatus.Success, slabs.Allocate(4096, 4096, out SlabBlock block));

        var ex = Assert.Throws<InvalidOperationException>(() => slabs.Free(block));

        Assert.Contains(nameof(SlabProviderStatus.Failure), ex.Message);
        Assert.Same(block.Handle, Assert.Single(slabs.GetBlocks()));
        provider.FreeStatus = SlabProviderStatus.Success;
        slabs.Free(block);
        Assert.Empty(slabs.GetBlocks());
        Assert.Equal(2, provider.Frees);
    }

    [Fact]
    public void Free_ProviderThrows_KeepsTheBlockListed()
    {
        var provider = new RefusingProvider { FreeThrows = true };
        var slabs = new SharedMemorySlabProvider(provider);
        Assert.Equal(SlabProviderStatus.Success, slabs.Allocate(4096, 4096, out SlabBlock block));

        Assert.Throws<IOException>(() => slabs.Free(block));

        Assert.Single(slabs.GetBlocks());
        provider.FreeThrows = false;
        slabs.Free(block);
        Assert.Empty(slabs.GetBlocks());
    }

    // A directory that refuses the unlink (chattr +i: EPERM) when the pool drops a slab: the arena's reset must not
    // fail, and the provider's budget must come back so the next slab is served.
    [TmpfsFact]
    public void Reset_UnlinkRefusedWhenTheSlabIsDropped_BudgetComesBackAndTheNextSlabIsServed()
    {
        using SmallTmpfs tmpfs = SmallTmpfs.Mount("512k");
        var shared = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = tmpfs.Path, MaxBytes = 64 * 1024 });
        var slabs = new SharedMemorySlabProvider(shared);
        using var pool = new SlabPool(new SlabPoolOptions { Provider = slabs, SlabSize = 64 * 1024, MaxRetainedBytes = 0, TrimInterval = Timeout.InfiniteTimeSpan });
        using var arena = new Arena(pool);

        for (int round = 0; round < 3; round++)
        {
            arena.AllocateMemory(100).Span.Fill(1);
            using (tmpfs.RefuseChanges())
            {
                arena.Reset();
            }

            Assert.Equal(0, shared.BlocksInUse);
            Assert.Equal(0, shared.BytesInUse);
            Assert.Empty(slabs.GetBlocks());
        }

        Assert.Equal(0, pool.GetStatistics().SlabsInUse);
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

    [Fact]
    public void BlocksOutliveRelease_IsFalse_BlocksAreUnmappedWhenFreed()
    {
        ISlabProvider slabs = new SharedMemorySlabProvider(new MemoryMappedSharedMemoryProvider());

        Assert.False(slabs.BlocksOutliveRelease);
    }

    // End addresses near the top of the address space wrap; the check must compare distances. The block is never
    // touched: a provider describing it and memory claiming to lie in it are all TryLocate needs.
    [Theory]
    [InlineData(0, 16, true)]
    [InlineData(8192 - 16, 16, true)]
    [InlineData(8192 - 16, 17, false)]
    [InlineData(8192, 1, false)]
    [InlineData(-16, 16, false)]
    public void TryLocate_BlockEndingAtTheTopOfTheAddressSpace_ComparesWithoutWrapping(long offsetInBlock, int length, bool expected)
    {
        if (IntPtr.Size != 8)
        {
            return;
        }

        const long blockAddress = 0x7FFF_FFFF_FFFF_E000;   // its end, 2^63, wraps to nint.MinValue
        var slabs = new SharedMemorySlabProvider(new DescribingProvider(blockAddress, 8192));
        Assert.Equal(SlabProviderStatus.Success, slabs.Allocate(8192, 4096, out _));
        using var memory = new AddressOnlyMemory((nint)(blockAddress + offsetInBlock), length);

        bool found = slabs.TryLocate(memory.Memory, out SharedMemoryHandle? handle, out long mappingOffset);

        Assert.Equal(expected, found);
        Assert.Equal(expected ? offsetInBlock : 0, mappingOffset);
        Assert.Equal(expected, handle is not null);
    }

    [Fact]
    public void SecondProcess_SymlinkPlantedUnderTheName_ExitsRefused()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var shared = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = "ra-reader-test" });
        Assert.Equal(SlabProviderStatus.Success, shared.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? real));
        string planted = $"ra-reader-test-{Environment.ProcessId}-999999-{Guid.NewGuid().ToString("N")[..8]}";
        string link = Path.Combine(shared.Directory!, planted);
        File.CreateSymbolicLink(link, Path.Combine(shared.Directory!, real!.Name));
        try
        {
            var (exitCode, output, error) = SharedMemoryReaderProcess.Run(planted, "0", "1", shared.Directory!);

            Assert.True(exitCode == 4, $"reader exited with {exitCode}: {output} {error}");
            Assert.Contains("symbolic link", error);
            Assert.Empty(output);
        }
        finally
        {
            File.Delete(link);
            shared.FreeSharedMemory(null, real);
        }
    }

    // Hands out real native blocks and answers frees with the status it is told to (or throws).
    private sealed unsafe class RefusingProvider : ISharedMemoryProvider
    {
        public SlabProviderStatus FreeStatus { get; set; } = SlabProviderStatus.Success;

        public bool FreeThrows { get; set; }

        public int Frees { get; private set; }

        public SlabProviderStatus AllocateSharedMemory(object? providerContext, SharedMemoryParameters parameters, out SharedMemoryHandle? handle)
        {
            void* memory = System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)parameters.Length, (nuint)parameters.Alignment);
            handle = new SharedMemoryHandle("refusing", (nint)memory, parameters.Length);
            return SlabProviderStatus.Success;
        }

        public SlabProviderStatus FreeSharedMemory(object? providerContext, SharedMemoryHandle handle)
        {
            Frees++;
            if (FreeThrows)
            {
                throw new IOException("the provider failed");
            }

            if (FreeStatus == SlabProviderStatus.Success)
            {
                System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)handle.Address);
            }

            return FreeStatus;
        }
    }

    // Describes one block at a given address without mapping anything.
    private sealed class DescribingProvider(long address, int length) : ISharedMemoryProvider
    {
        public SlabProviderStatus AllocateSharedMemory(object? providerContext, SharedMemoryParameters parameters, out SharedMemoryHandle? handle)
        {
            handle = new SharedMemoryHandle("described", (nint)address, length);
            return SlabProviderStatus.Success;
        }

        public SlabProviderStatus FreeSharedMemory(object? providerContext, SharedMemoryHandle handle) => SlabProviderStatus.Success;
    }

    // Memory whose Pin reports an address; its bytes are never read.
    private sealed unsafe class AddressOnlyMemory(nint address, int length) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => throw new InvalidOperationException("The bytes of this memory are never read.");

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new((void*)(address + elementIndex));

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }

        public override Memory<byte> Memory => CreateMemory(length);
    }
}
