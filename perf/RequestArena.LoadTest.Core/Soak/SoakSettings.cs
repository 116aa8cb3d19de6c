namespace RequestArena.LoadTest.Soak;

/// <summary>
/// One soak run: how the server is configured (the client reads the same values to know what to expect), how much
/// load the client puts on it, and when it gives up.
/// </summary>
internal sealed record SoakSettings
{
    /// <summary>Small slabs so ordinary requests cross slab boundaries and some allocations take the oversize path.</summary>
    public int SlabSize { get; init; } = 16 * 1024;

    /// <summary>The pool's cap, small enough that a burst of concurrent requests overflows it and slabs get dropped.</summary>
    public long MaxRetainedBytes { get; init; } = 256 * 1024;

    /// <summary>The quota endpoint's <c>WithRequestArena</c> limit.</summary>
    public long QuotaBytes { get; init; } = 32 * 1024;

    /// <summary>The timeout endpoint's <c>WithRequestTimeout</c>.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMilliseconds(40);

    /// <summary>Bytes per chunk of a streamed response (each chunk is its own arena allocation).</summary>
    public int ChunkSize { get; init; } = 4096;

    /// <summary>Chunks of a slow streaming response, and the pause after each.</summary>
    public int SlowChunks { get; init; } = 6;

    /// <summary>The pause after each chunk of a slow streaming response.</summary>
    public int SlowChunkDelayMs { get; init; } = 10;

    /// <summary>
    /// Chunks of the response a client aborts; the client resets after the first, so this only bounds the handler's
    /// life (and its arena) should an abort ever go unnoticed.
    /// </summary>
    public int AbortStreamChunks { get; init; } = 400;

    /// <summary>The declared length of the body a client aborts while the server reads it.</summary>
    public int AbortUploadLength { get; init; } = 64 * 1024;

    public long Requests { get; init; } = 200_000;

    public int Concurrency { get; init; } = 32;

    public int Seed { get; init; } = 20261122;

    /// <summary>Where the first working-set sample is taken: 50k of the default 200k.</summary>
    public double SampleFraction { get; init; } = 0.25;

    /// <summary>The run stops issuing requests after this long, whatever the count; a run cut short fails.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromMinutes(9);

    /// <summary>A single request (including an abort's handshake) that takes longer than this fails the run.</summary>
    public TimeSpan ClientTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long quiescing may take: in-flight handlers finishing, OnCompleted callbacks releasing arenas.</summary>
    public TimeSpan QuiesceTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Allowed relative change of the working set between the sample and the end.</summary>
    public double WorkingSetTolerance { get; init; } = 0.10;

    /// <summary>How often the pool is sampled while load runs.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}
