namespace RequestArena.Adapters;

/// <summary>
/// Lets a <see cref="SlabPool"/> take its slabs from an <see cref="ISharedMemoryProvider"/>: set an instance as
/// <see cref="SlabPoolOptions.Provider"/>, and every arena on the pool hands out shared memory another process can
/// map. <see cref="TryLocate"/> tells which block, and where in it, a piece of arena memory lives.
/// </summary>
public sealed class SharedMemorySlabProvider : ISlabProvider
{
    private readonly ISharedMemoryProvider _provider;
    private readonly object? _providerContext;
    private readonly Lock _lock = new();
    private readonly List<SharedMemoryHandle> _blocks = [];

    /// <summary>Creates the adapter.</summary>
    /// <param name="provider">Where the shared memory comes from.</param>
    /// <param name="providerContext">The context passed to every call of <paramref name="provider"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="provider"/> is null.</exception>
    public SharedMemorySlabProvider(ISharedMemoryProvider provider, object? providerContext = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _provider = provider;
        _providerContext = providerContext;
    }

    /// <inheritdoc />
    public string Name => "shared-memory";

    /// <inheritdoc />
    /// <value>False: a freed block is unmapped at once.</value>
    public bool BlocksOutliveRelease => false;

    /// <summary>The blocks allocated through this adapter and not freed yet.</summary>
    /// <returns>A snapshot.</returns>
    public SharedMemoryHandle[] GetBlocks()
    {
        lock (_lock)
        {
            return [.. _blocks];
        }
    }

    /// <inheritdoc />
    public SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block)
    {
        block = default;
        SlabProviderStatus status = _provider.AllocateSharedMemory(_providerContext, new SharedMemoryParameters(length, alignment), out SharedMemoryHandle? handle);
        if (status != SlabProviderStatus.Success)
        {
            return status;
        }

        // A provider that claims success with an unusable block is treated as having failed, and its block returned.
        if (handle is null || handle.Length < length || handle.Address == 0 || (handle.Address & (alignment - 1)) != 0)
        {
            if (handle is not null)
            {
                _provider.FreeSharedMemory(_providerContext, handle);
            }

            return SlabProviderStatus.Failure;
        }

        lock (_lock)
        {
            _blocks.Add(handle);
        }

        block = new SlabBlock(handle.Address, length, handle);
        return SlabProviderStatus.Success;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">
    /// The shared memory provider answered anything but <see cref="SlabProviderStatus.Success"/>; the block stays in
    /// <see cref="GetBlocks"/>, as it is still allocated. An exception of the provider's own passes through the same way.
    /// </exception>
    public void Free(in SlabBlock block)
    {
        if (block.Handle is not SharedMemoryHandle handle)
        {
            return;
        }

        // Taken off the list first, so that of two frees of the same block only one reaches the provider.
        lock (_lock)
        {
            if (!_blocks.Remove(handle))
            {
                return;
            }
        }

        SlabProviderStatus status = SlabProviderStatus.Failure;
        try
        {
            status = _provider.FreeSharedMemory(_providerContext, handle);
        }
        finally
        {
            if (status != SlabProviderStatus.Success)
            {
                lock (_lock)
                {
                    _blocks.Add(handle);
                }
            }
        }

        if (status != SlabProviderStatus.Success)
        {
            throw new InvalidOperationException($"The shared memory provider did not free the block '{handle.Name}' (status {status}); it is still allocated.");
        }
    }

    /// <summary>
    /// Finds the shared block holding <paramref name="memory"/>, so another process can be told where to read it:
    /// it maps <see cref="SharedMemoryHandle.Name"/> and reads at <paramref name="mappingOffset"/>.
    /// </summary>
    /// <param name="memory">Memory an arena on this adapter's pool handed out.</param>
    /// <param name="handle">The block, or null.</param>
    /// <param name="mappingOffset">Where <paramref name="memory"/> starts within the block's named mapping.</param>
    /// <returns>True when the memory lies wholly inside one of this adapter's live blocks.</returns>
    /// <exception cref="ObjectDisposedException">The memory's arena has been released.</exception>
    public unsafe bool TryLocate(ReadOnlyMemory<byte> memory, out SharedMemoryHandle? handle, out long mappingOffset)
    {
        handle = null;
        mappingOffset = 0;
        nint address;
        using (System.Buffers.MemoryHandle pin = memory.Pin())
        {
            address = (nint)pin.Pointer;
        }

        lock (_lock)
        {
            foreach (SharedMemoryHandle block in _blocks)
            {
                // Distances rather than end addresses, so nothing can wrap.
                nuint distance = (nuint)address - (nuint)block.Address;
                if (address >= block.Address && distance <= (nuint)block.Length && (nuint)memory.Length <= (nuint)block.Length - distance)
                {
                    handle = block;
                    mappingOffset = block.Offset + (address - block.Address);
                    return true;
                }
            }
        }

        return false;
    }
}
