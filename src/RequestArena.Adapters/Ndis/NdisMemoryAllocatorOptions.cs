namespace RequestArena.Adapters;

/// <summary>Options for an <see cref="NdisMemoryAllocator"/>.</summary>
public sealed class NdisMemoryAllocatorOptions
{
    /// <summary>
    /// The longest <see cref="NdisMemoryFlags.Contiguous"/> block handed out; longer requests fail with
    /// <see cref="SlabProviderStatus.Failure"/>. Default 4 MiB.
    /// </summary>
    public int MaxContiguousLength { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// The most bytes of native blocks (<see cref="NdisMemoryFlags.NonCached"/>, <see cref="NdisMemoryFlags.Contiguous"/>
    /// or address-limited) the allocator holds at once; 0 means no limit of its own. Over an <see cref="Arena"/> with
    /// a quota, native blocks also count against <see cref="Arena.MaxBytes"/>.
    /// </summary>
    public long MaxNativeBytes { get; set; }
}
