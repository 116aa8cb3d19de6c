namespace RequestArena;

/// <summary>Options for one <see cref="Arena"/>. Values are copied when the arena is created.</summary>
public sealed class ArenaOptions
{
    /// <summary>The largest alignment an arena accepts.</summary>
    public const int MaxAlignment = 4096;

    /// <summary>Quota in bytes handed out between two resets; 0 means unlimited. Must not be negative.</summary>
    public long MaxBytes { get; set; }

    /// <summary>
    /// When true (the default) every byte handed out reads 0, whatever the slab held before. Turning it off is
    /// unsafe: memory may then show bytes another arena (another request) wrote.
    /// </summary>
    public bool ZeroMemory { get; set; } = true;

    /// <summary>Every allocation starts at an address that is a multiple of this; a power of two from 1 to 4096.</summary>
    public int Alignment { get; set; } = 8;

    /// <summary>
    /// When true (the default) memory handed out fails with <see cref="ObjectDisposedException"/> once the arena
    /// has been reset or disposed. Every <c>.Span</c> of checked memory goes through a
    /// <see cref="System.Buffers.MemoryManager{T}"/> (a virtual call of 1–2 ns unless the JIT devirtualises it), which
    /// code reading <c>.Span</c> per token, such as <c>Utf8JsonWriter</c>, pays many times. Turning it off hands out
    /// plain array-backed memory, as fast to read as an array and with no per-slab allocation, but memory kept past a
    /// reset then silently aliases whatever uses the slab next.
    /// </summary>
    /// <remarks>
    /// Unchecked memory is never freed memory: kept past a reset it may show later bytes of the same slab, never memory
    /// that has been freed or unmapped. Only slabs of managed arrays can promise that (the GC keeps them while memory
    /// over them is referenced), so turning the check off on a pool whose <see cref="ISlabProvider.BlocksOutliveRelease"/>
    /// is false (native or shared-memory slabs, which the pool frees or unmaps when it drops them) is refused when the
    /// arena or the <see cref="ArenaPool"/> is created.
    /// </remarks>
    public bool DetectUseAfterRelease { get; set; } = true;

    internal void Validate()
    {
        if (MaxBytes < 0)
        {
            throw new ArgumentException($"ArenaOptions.MaxBytes must be 0 (unlimited) or positive; it was {MaxBytes}.", nameof(MaxBytes));
        }

        if (Alignment < 1 || Alignment > MaxAlignment || (Alignment & (Alignment - 1)) != 0)
        {
            throw new ArgumentException($"ArenaOptions.Alignment must be a power of two from 1 to {MaxAlignment}; it was {Alignment}.", nameof(Alignment));
        }
    }

    // The options against the pool they are used on: unchecked memory needs slabs that outlive their release.
    internal void Validate(SlabPool pool)
    {
        Validate();
        if (!DetectUseAfterRelease && !pool.Provider.BlocksOutliveRelease)
        {
            throw new ArgumentException(
                $"ArenaOptions.DetectUseAfterRelease = false cannot be used with the slab provider '{pool.Provider.Name}' (SlabPoolOptions.Provider): "
                + "it frees or unmaps slabs the pool drops, and unchecked memory kept past a reset would then point at freed memory. "
                + "Keep DetectUseAfterRelease on, or use a provider whose slabs outlive their release (PinnedArraySlabProvider, the default).",
                nameof(DetectUseAfterRelease));
        }
    }

    internal ArenaOptions Clone() => (ArenaOptions)MemberwiseClone();
}
