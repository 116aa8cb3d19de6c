namespace RequestArena.LoadTest.Soak;

/// <summary>What one soak request does. Each fault kind is 5% of the mix; the rest are normal arena-using requests.</summary>
internal enum SoakKind : byte
{
    /// <summary>GET: several zero-checked allocations (some larger than a slab), arena memory as the response body.</summary>
    Normal,

    /// <summary>POST: the whole body read into arena memory and checked; counts as a normal request.</summary>
    Upload,

    /// <summary>The client resets the connection while the server streams a long response from arena memory.</summary>
    AbortWhileStreaming,

    /// <summary>The client resets the connection while the server reads its body into arena memory.</summary>
    AbortWhileReading,

    /// <summary>The handler throws after allocating: before the response started (500) or after (connection reset).</summary>
    HandlerException,

    /// <summary>The handler outlives its <c>WithRequestTimeout</c>; RequestTimeouts cancels it and answers 504.</summary>
    Timeout,

    /// <summary>The handler goes over its endpoint's <c>WithRequestArena</c> limit; the middleware answers 503.</summary>
    QuotaBreach,

    /// <summary>A response streamed from arena memory in chunks with pauses, read to the end and checked.</summary>
    SlowStream,
}
