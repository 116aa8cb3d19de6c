namespace RequestArena;

/// <summary>
/// Where slab memory comes from. A <see cref="SlabPool"/> asks its provider for slabs (and for oversize blocks)
/// and gives them back when it trims. The shape follows the Windows shared-memory handler
/// (<c>ALLOCATE_SHARED_MEMORY_HANDLER</c>): the provider instance is the provider context, the size and alignment
/// are the parameters, and the result is a status rather than an exception.
/// </summary>
/// <remarks>
/// Blocks must be pinned (their address may not change until freed) and must be safe to free from any thread.
/// The pool never assumes fresh blocks are zeroed: it clears them before an arena that zeroes hands them out.
/// </remarks>
public interface ISlabProvider
{
    /// <summary>A short name for statistics and diagnostics.</summary>
    string Name { get; }

    /// <summary>Allocates a pinned block.</summary>
    /// <param name="length">Bytes wanted; at least 1.</param>
    /// <param name="alignment">The block's address must be a multiple of this power of two.</param>
    /// <param name="block">The block, when the status is <see cref="SlabProviderStatus.Success"/>.</param>
    /// <returns>The status; anything but success leaves <paramref name="block"/> empty.</returns>
    SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block);

    /// <summary>
    /// Whether a block's memory stays valid after <see cref="Free"/> for as long as anything still refers to it: true
    /// for blocks of managed arrays (<see cref="SlabBlock.Array"/>), which the GC reclaims only once nothing refers to
    /// them; false (the default) for native or mapped memory, which <see cref="Free"/> gives back at once.
    /// </summary>
    /// <remarks>
    /// Memory an arena hands out with <see cref="ArenaOptions.DetectUseAfterRelease"/> off cannot be made to fail after
    /// a reset, so it must never outlive its bytes: arenas refuse that option on a pool whose provider says false here.
    /// Only say true when every block has a <see cref="SlabBlock.Array"/> the provider never hands out again.
    /// </remarks>
    bool BlocksOutliveRelease => false;

    /// <summary>Frees a block this provider allocated.</summary>
    /// <param name="block">The block; it is never used again by the pool.</param>
    void Free(in SlabBlock block);
}
