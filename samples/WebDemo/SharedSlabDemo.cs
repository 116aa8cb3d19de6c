using RequestArena;
using RequestArena.Adapters;

namespace WebDemo;

/// <summary>
/// A slab pool whose slabs are named memory-mapped blocks, so bytes an arena writes can be read by another process
/// that opens the block by name. One per application; its blocks go back when the application stops.
/// </summary>
internal sealed class SharedSlabDemo : IDisposable
{
    public SharedSlabDemo()
    {
        Provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = "webdemo", MaxBytes = 8L * 1024 * 1024 });
        Slabs = new SharedMemorySlabProvider(Provider);
        Pool = new SlabPool(new SlabPoolOptions { Provider = Slabs, SlabSize = 64 * 1024, MaxRetainedBytes = 1024 * 1024 });
    }

    public MemoryMappedSharedMemoryProvider Provider { get; }

    public SharedMemorySlabProvider Slabs { get; }

    public SlabPool Pool { get; }

    public void Dispose() => Pool.Dispose();
}
