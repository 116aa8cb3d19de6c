namespace RequestArena;

/// <summary>
/// An <see cref="IModuleAllocator"/> backed by an arena's pinned slabs: an <see cref="Arena"/>, or a request's arena as
/// ASP.NET Core hands it out. Besides allocating, it can refuse an allocation over its quota without throwing, says
/// whether its memory is zeroed, and disposes registered objects before it reclaims its memory.
/// </summary>
/// <remarks>
/// Memory from such an allocator never moves until the allocator reclaims it. An object built over it (an adapter, a
/// writer) may therefore keep raw addresses of that memory, provided it registers with
/// <see cref="ICleanupRegistry.RegisterForCleanup"/> so that it stops using them before the memory serves anyone else.
/// Code that accepts any <see cref="IModuleAllocator"/> asks for this interface instead of for a concrete class.
/// </remarks>
public interface IArenaAllocator : IModuleAllocator, ICleanupRegistry
{
    /// <summary>Whether every byte handed out reads 0 when it is handed out.</summary>
    bool ZeroMemory { get; }

    /// <summary>Like <see cref="IModuleAllocator.AllocateMemory"/>, but returns false instead of throwing when the quota would be exceeded.</summary>
    /// <param name="cbAllocation">The number of bytes.</param>
    /// <param name="memory">Exactly <paramref name="cbAllocation"/> bytes, or empty when the method returns false.</param>
    /// <returns>False when the quota would be exceeded; the allocator stays usable.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cbAllocation"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The allocator's memory has been reclaimed for good (a disposed arena, an ended request).</exception>
    bool TryAllocateMemory(int cbAllocation, out Memory<byte> memory);

    /// <summary>
    /// A cursor for a loop of allocations on the calling thread, bound to this allocator's current arena cycle (for a
    /// request's allocator: the request). See <see cref="ArenaCursor"/>.
    /// </summary>
    /// <returns>The cursor.</returns>
    /// <exception cref="ObjectDisposedException">The allocator's memory has been reclaimed for good (a disposed arena, an ended request).</exception>
    ArenaCursor CreateCursor();
}
