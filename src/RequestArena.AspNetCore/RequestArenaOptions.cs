using RequestArena;

namespace RequestArena.AspNetCore;

/// <summary>
/// Options for the request arena middleware, set through
/// <c>AddRequestArena(options => ...)</c> and validated when the host starts.
/// </summary>
public sealed class RequestArenaOptions
{
    /// <summary>The slab size used when none is configured: 64 KiB.</summary>
    public const int DefaultSlabSize = 64 * 1024;

    /// <summary>
    /// The most bytes one request may allocate from its arena; 0 (the default) means unlimited. An endpoint's
    /// <c>WithRequestArena(maxBytes)</c> or <see cref="RequestArenaAttribute"/> replaces it for that endpoint.
    /// </summary>
    public long MaxBytesPerRequest { get; set; }

    /// <summary>
    /// Bytes per slab of the middleware's slab pool, from <see cref="SlabPoolOptions.MinSlabSize"/> (4 KiB) to
    /// <see cref="SlabPoolOptions.MaxSlabSize"/> (16 MiB). Default <see cref="DefaultSlabSize"/>. Larger allocations
    /// are still served, each from its own block.
    /// </summary>
    public int SlabSize { get; set; } = DefaultSlabSize;

    /// <summary>
    /// The most bytes of idle slabs the pool keeps between requests; slabs returned beyond it are freed.
    /// Default 32 MiB; 0 keeps nothing.
    /// </summary>
    public long MaxRetainedBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>
    /// How often the pool looks at its traffic and gives idle slabs back: nothing while rents keep up with returns, a
    /// little when returns win, a quarter (at least 8 slabs) per interval once no request rents or returns any.
    /// Default 10 seconds; from <see cref="SlabPoolOptions.MinTrimInterval"/> (1 ms) to
    /// <see cref="SlabPoolOptions.MaxTrimInterval"/> (about 49.7 days), or <see cref="Timeout.InfiniteTimeSpan"/> to keep
    /// idle slabs (up to <see cref="MaxRetainedBytes"/>) until the host stops.
    /// </summary>
    public TimeSpan TrimInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where the middleware's slab pool takes its slabs; null (the default) uses pinned managed arrays. Set
    /// <see cref="NativeMemorySlabProvider"/> for slabs outside the GC heap, or a
    /// <c>RequestArena.Adapters.SharedMemorySlabProvider</c> for slabs another process can map.
    /// </summary>
    public ISlabProvider? SlabProvider { get; set; }

    /// <summary>
    /// When true (the default) every byte a request gets from its arena reads 0. Turning it off lets a request read
    /// bytes an earlier request wrote: leave it on unless every caller overwrites what it allocates.
    /// </summary>
    public bool ZeroMemory { get; set; } = true;

    /// <summary>
    /// When true (the default) memory a request got from its arena throws <see cref="ObjectDisposedException"/> once
    /// the request has ended, even after its slab serves another request. The price is paid on every <c>.Span</c>:
    /// checked memory goes through a <see cref="System.Buffers.MemoryManager{T}"/>, a virtual call of 1–2 ns where the
    /// JIT has not devirtualised it. Code that reads <c>.Span</c> per token, as <c>Utf8JsonWriter</c> does over an
    /// <c>IBufferWriter</c>, pays it thousands of times per response (perf/README.md measures 1–9 % of a 200-item
    /// JSON report). Turning it off hands out plain array-backed memory, as fast to read as an array, but memory kept
    /// past its request then silently aliases whatever request uses the slab next. It is never freed memory: turning
    /// the check off with a <see cref="SlabProvider"/> whose slabs are freed or unmapped when dropped (native or shared
    /// memory, <see cref="ISlabProvider.BlocksOutliveRelease"/> false) stops the host at start-up with an
    /// <c>OptionsValidationException</c>.
    /// </summary>
    public bool DetectUseAfterRelease { get; set; } = true;

    /// <summary>
    /// The status code sent when an <see cref="ArenaLimitExceededException"/> escapes the endpoint before the
    /// response has started; an HTTP error status from 400 to 599. Default 503 (Service Unavailable).
    /// </summary>
    public int LimitExceededStatusCode { get; set; } = 503;
}
