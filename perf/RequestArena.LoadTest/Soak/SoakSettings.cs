namespace RequestArena.LoadTest.Soak;

/// <summary>How the soak server is configured; the client reads the same values to know what to expect.</summary>
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
}
