namespace RequestArena.Adapters;

/// <summary>
/// The <c>MemoryFlags</c> of <c>NdisAllocateMemory</c> and <c>NdisFreeMemory</c>, with their Windows values. A block
/// must be freed with the flags it was allocated with.
/// </summary>
[Flags]
public enum NdisMemoryFlags
{
    /// <summary>Ordinary memory: carved from the request's arena and reclaimed with it.</summary>
    None = 0,

    /// <summary>
    /// <c>NDIS_MEMORY_CONTIGUOUS</c>: one contiguous, page-aligned block of native memory. Like physically contiguous
    /// memory in a driver it is a scarce kind: requests longer than
    /// <see cref="NdisMemoryAllocatorOptions.MaxContiguousLength"/> fail, and the caller should try smaller blocks.
    /// </summary>
    Contiguous = 0x1,

    /// <summary>
    /// <c>NDIS_MEMORY_NONCACHED</c>: native memory outside the GC heap (never moved, never scanned), aligned to a cache
    /// line so the block shares no line with other data.
    /// </summary>
    NonCached = 0x2,
}
