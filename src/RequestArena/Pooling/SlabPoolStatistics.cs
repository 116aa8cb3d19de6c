namespace RequestArena;

/// <summary>A snapshot of a <see cref="SlabPool"/>'s counters.</summary>
public readonly record struct SlabPoolStatistics
{
    /// <summary>Slabs handed to arenas since the pool was created (oversize blocks not included).</summary>
    public long SlabsRented { get; init; }

    /// <summary>Slabs arenas gave back since the pool was created.</summary>
    public long SlabsReturned { get; init; }

    /// <summary>Slabs currently held by arenas.</summary>
    public long SlabsInUse { get; init; }

    /// <summary>Idle slabs the pool holds now.</summary>
    public int PooledSlabs { get; init; }

    /// <summary>Idle oversize blocks (larger than a slab) the pool holds now.</summary>
    public int PooledOversizeBlocks { get; init; }

    /// <summary>Bytes of idle slabs and oversize blocks the pool holds now.</summary>
    public long PooledBytes { get; init; }

    /// <summary>The pool's cap on <see cref="PooledBytes"/>.</summary>
    public long MaxRetainedBytes { get; init; }

    /// <summary>Bytes taken from the provider since the pool was created (slabs and oversize blocks).</summary>
    public long ProviderAllocatedBytes { get; init; }

    /// <summary>Bytes given back to the provider since the pool was created.</summary>
    public long ProviderFreedBytes { get; init; }

    /// <summary>Slabs and oversize blocks given back to the provider by trimming (idle or <see cref="SlabPool.Trim"/>).</summary>
    public long SlabsTrimmed { get; init; }

    /// <summary>Slabs and oversize blocks given back to the provider because the pool was at its cap when they were returned.</summary>
    public long SlabsDropped { get; init; }

    /// <summary>
    /// Calls to the provider's <see cref="ISlabProvider.Free"/> that threw since the pool was created. Each block had
    /// left the pool either way; a trim run by the pool's timer has no caller to throw to, so this is where it reports.
    /// </summary>
    public long ProviderFreeFailures { get; init; }

    /// <summary>Oversize blocks handed out since the pool was created.</summary>
    public long OversizeRented { get; init; }

    /// <summary>Oversize blocks currently held by arenas.</summary>
    public long OversizeInUse { get; init; }
}
