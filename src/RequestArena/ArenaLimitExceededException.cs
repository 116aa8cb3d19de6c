namespace RequestArena;

/// <summary>Thrown when an allocation would take an arena past its quota (<see cref="ArenaOptions.MaxBytes"/>).</summary>
public sealed class ArenaLimitExceededException : Exception
{
    /// <summary>Creates the exception for a quota of <paramref name="limit"/> bytes and a refused request.</summary>
    /// <param name="limit">The arena's quota in bytes.</param>
    /// <param name="requested">The size of the refused allocation in bytes.</param>
    /// <param name="allocated">What the arena had already handed out.</param>
    public ArenaLimitExceededException(long limit, long requested, long allocated)
        : base($"Allocating {requested} bytes would exceed the arena limit of {limit} bytes ({allocated} bytes already allocated).")
    {
        Limit = limit;
        Requested = requested;
        Allocated = allocated;
    }

    /// <summary>
    /// Creates the exception for an allocation refused because the memory the arena would hold (slabs and blocks,
    /// padding and unused chunk tails included) would pass twice its quota.
    /// </summary>
    /// <param name="limit">The arena's quota in bytes.</param>
    /// <param name="requested">The size of the refused allocation in bytes.</param>
    /// <param name="allocated">What the arena had already handed out.</param>
    /// <param name="held">The bytes the arena held when the allocation was refused.</param>
    public ArenaLimitExceededException(long limit, long requested, long allocated, long held)
        : base($"Allocating {requested} bytes would take the memory held by the arena past twice its limit of {limit} bytes ({allocated} bytes allocated, {held} bytes held including alignment padding and unused chunk tails).")
    {
        Limit = limit;
        Requested = requested;
        Allocated = allocated;
        Held = held;
    }

    /// <summary>The quota in bytes.</summary>
    public long Limit { get; }

    /// <summary>The size of the refused allocation in bytes.</summary>
    public long Requested { get; }

    /// <summary>The bytes the arena had already handed out when the allocation was refused.</summary>
    public long Allocated { get; }

    /// <summary>
    /// The bytes the arena held when the allocation was refused for the bound on memory held; 0 when it was refused
    /// for the bytes handed out.
    /// </summary>
    public long Held { get; }
}
