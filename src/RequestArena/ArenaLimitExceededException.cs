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

    /// <summary>The quota in bytes.</summary>
    public long Limit { get; }

    /// <summary>The size of the refused allocation in bytes.</summary>
    public long Requested { get; }

    /// <summary>The bytes the arena had already handed out when the allocation was refused.</summary>
    public long Allocated { get; }
}
