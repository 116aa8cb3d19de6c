namespace RequestArena.Adapters;

/// <summary>
/// A source of shared memory in the shape of the NDIS shared-memory provider handlers
/// (<c>ALLOCATE_SHARED_MEMORY_HANDLER</c> and <c>FREE_SHARED_MEMORY_HANDLER</c>). Results are
/// <see cref="SlabProviderStatus"/> values, the library's NDIS status vocabulary. Wrap a provider in a
/// <see cref="SharedMemorySlabProvider"/> to let a <see cref="SlabPool"/> take its slabs from it.
/// </summary>
/// <remarks>Implementations must be safe to call from several threads at once.</remarks>
public interface ISharedMemoryProvider
{
    /// <summary>Allocates a block of shared memory (<c>AllocateSharedMemoryHandler</c>).</summary>
    /// <param name="providerContext">The caller's context (<c>ProviderContext</c>), passed back as given; may be null.</param>
    /// <param name="parameters">The length and alignment wanted (<c>SharedMemoryParameters</c>).</param>
    /// <param name="handle">The block (<c>pSharedMemoryProviderContext</c>) when the status is success; otherwise null.</param>
    /// <returns>
    /// <see cref="SlabProviderStatus.Success"/> (<c>NDIS_STATUS_SUCCESS</c>);
    /// <see cref="SlabProviderStatus.Resources"/> (<c>NDIS_STATUS_RESOURCES</c>) when the provider is out of memory or
    /// of its budget, so a smaller request may succeed; <see cref="SlabProviderStatus.InvalidParameter"/>
    /// (<c>NDIS_STATUS_INVALID_PARAMETER</c>) for a bad length or alignment; <see cref="SlabProviderStatus.Failure"/>
    /// (<c>NDIS_STATUS_FAILURE</c>) for any other failure.
    /// </returns>
    SlabProviderStatus AllocateSharedMemory(object? providerContext, SharedMemoryParameters parameters, out SharedMemoryHandle? handle);

    /// <summary>Frees a block this provider allocated (<c>FreeSharedMemoryHandler</c>).</summary>
    /// <param name="providerContext">The caller's context, as given at allocation.</param>
    /// <param name="handle">The block.</param>
    /// <returns>
    /// <see cref="SlabProviderStatus.Success"/>, or <see cref="SlabProviderStatus.InvalidParameter"/> when the block is
    /// not a live block of this provider (freed already, or from another provider); nothing is changed then.
    /// </returns>
    SlabProviderStatus FreeSharedMemory(object? providerContext, SharedMemoryHandle handle);
}
