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

/// <summary>A snapshot of <see cref="SoakServerState"/>: how the soak handlers ended, and what they found wrong.</summary>
internal sealed record SoakServerCounters
{
    public long InFlight { get; init; }

    /// <summary>Requests that allocated from their arena at least once; each must be released exactly once.</summary>
    public long ArenaRequests { get; init; }

    /// <summary>Allocations that did not read all zeros when handed out.</summary>
    public long DirtyAllocations { get; init; }

    /// <summary>A live handler's own memory threw ObjectDisposedException: released while the request still ran.</summary>
    public long PrematureReleases { get; init; }

    /// <summary>Memory a request owned did not hold what it wrote (an upload that arrived wrong, or an overwrite).</summary>
    public long CorruptBodies { get; init; }

    public long NormalDone { get; init; }

    public long UploadDone { get; init; }

    public long StreamDone { get; init; }

    public long StreamAborted { get; init; }

    public long UploadAborted { get; init; }

    public long Thrown { get; init; }

    public long TimedOut { get; init; }

    /// <summary>A timeout handler that ran to its end without being cancelled.</summary>
    public long TimeoutMissed { get; init; }

    public long QuotaHit { get; init; }
}
