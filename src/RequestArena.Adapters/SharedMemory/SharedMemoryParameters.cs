namespace RequestArena.Adapters;

/// <summary>
/// What <see cref="ISharedMemoryProvider.AllocateSharedMemory"/> is asked for: the part of
/// <c>NDIS_SHARED_MEMORY_PARAMETERS</c> a user-mode provider can honour.
/// </summary>
/// <param name="Length">Bytes wanted; at least 1.</param>
/// <param name="Alignment">The block's address must be a multiple of this power of two; default one page (4096).</param>
public readonly record struct SharedMemoryParameters(int Length, int Alignment = 4096);
