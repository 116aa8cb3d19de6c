namespace RequestArena.LoadTest.Soak;

/// <summary>What <c>GET /soak/stats</c> returns: the handlers' counters, the arena statistics and the process's memory.</summary>
internal sealed record SoakServerReport
{
    public required SoakServerCounters Counters { get; init; }

    /// <summary>Requests the middleware released (RequestArenaStatistics.Requests).</summary>
    public long ReleasedRequests { get; init; }

    public long LimitExceeded { get; init; }

    public required SlabPoolStatistics Pool { get; init; }

    /// <summary>True when a full blocking compacting collection ran just before the memory figures were read.</summary>
    public bool Collected { get; init; }

    public long WorkingSetBytes { get; init; }

    public long GcHeapBytes { get; init; }

    public long GcCommittedBytes { get; init; }

    public long Gen2Collections { get; init; }

    public bool ServerGc { get; init; }
}
