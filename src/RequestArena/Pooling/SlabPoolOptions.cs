namespace RequestArena;

/// <summary>Options for a <see cref="SlabPool"/>, validated when the pool is created.</summary>
public sealed class SlabPoolOptions
{
    /// <summary>The smallest slab size accepted.</summary>
    public const int MinSlabSize = 4 * 1024;

    /// <summary>The largest slab size accepted.</summary>
    public const int MaxSlabSize = 16 * 1024 * 1024;

    /// <summary>
    /// The shortest <see cref="TrimInterval"/> accepted: one millisecond. A timer's period is whole milliseconds, and a
    /// shorter one would round to 0, which fires once and never again.
    /// </summary>
    public static readonly TimeSpan MinTrimInterval = TimeSpan.FromMilliseconds(1);

    /// <summary>The longest <see cref="TrimInterval"/> accepted: 4294967294 milliseconds (about 49.7 days), a timer's longest period.</summary>
    public static readonly TimeSpan MaxTrimInterval = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>Bytes per slab; from 4 KiB to 16 MiB. Default 64 KiB. Larger allocations take the oversize path.</summary>
    public int SlabSize { get; set; } = 64 * 1024;

    /// <summary>
    /// The most bytes of idle slabs the pool keeps (the idea of APR's MaxMemFree). A slab returned beyond it goes
    /// back to the provider. Default 32 MiB; 0 keeps nothing.
    /// </summary>
    public long MaxRetainedBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>
    /// How often the pool looks at its traffic and gives idle slabs back, in the manner of Kestrel's memory pool:
    /// nothing while rents keep up with returns, a little when returns win, a quarter (at least 8 slabs) when idle.
    /// Default 10 seconds; from <see cref="MinTrimInterval"/> to <see cref="MaxTrimInterval"/>, or
    /// <see cref="Timeout.InfiniteTimeSpan"/> to turn idle trimming off.
    /// </summary>
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where slabs come from. Default <see cref="PinnedArraySlabProvider.Instance"/>.</summary>
    public ISlabProvider? Provider { get; set; }

    internal void Validate()
    {
        if (SlabSize < MinSlabSize || SlabSize > MaxSlabSize)
        {
            throw new ArgumentException($"SlabPoolOptions.SlabSize must be from {MinSlabSize} to {MaxSlabSize} bytes; it was {SlabSize}.", nameof(SlabSize));
        }

        if (MaxRetainedBytes < 0)
        {
            throw new ArgumentException($"SlabPoolOptions.MaxRetainedBytes must not be negative; it was {MaxRetainedBytes}.", nameof(MaxRetainedBytes));
        }

        if (!IsValidTrimInterval(TrimInterval))
        {
            throw new ArgumentException($"SlabPoolOptions.TrimInterval must be from {MinTrimInterval} to {MaxTrimInterval}, or Timeout.InfiniteTimeSpan; it was {TrimInterval}.", nameof(TrimInterval));
        }
    }

    // The accepted intervals, for this class and for RequestArenaOptions' start-up validation alike.
    internal static bool IsValidTrimInterval(TimeSpan interval) =>
        interval == Timeout.InfiniteTimeSpan || (interval >= MinTrimInterval && interval <= MaxTrimInterval);
}
