using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RequestArena.AspNetCore;

// The application's own slab pool rather than SlabPool.Shared: its slab size and retention come from
// RequestArenaOptions, its gauges describe request arenas only, and it is freed with the host.
internal sealed class RequestArenaPools : IDisposable
{
    public RequestArenaPools(IOptions<RequestArenaOptions> options, ILoggerFactory loggerFactory)
    {
        Logger = loggerFactory.CreateLogger<RequestArenaMiddleware>();
        RequestArenaOptions value = options.Value;
        SlabPool = new SlabPool(new SlabPoolOptions
        {
            SlabSize = value.SlabSize,
            MaxRetainedBytes = value.MaxRetainedBytes,
            TrimInterval = value.TrimInterval,
            Provider = value.SlabProvider,
        });

        // Arena objects are small; keeping more of them than ArenaPool's default means bursts of concurrent
        // requests reuse arenas (and their per-thread chunks) instead of allocating new ones.
        ArenaPool = new ArenaPool(
            SlabPool,
            new ArenaOptions { ZeroMemory = value.ZeroMemory, DetectUseAfterRelease = value.DetectUseAfterRelease },
            maximumRetained: Environment.ProcessorCount * 16);
    }

    public SlabPool SlabPool { get; }

    public ArenaPool ArenaPool { get; }

    // The middleware's category, for everything the library logs: requests' releases log through it too.
    public ILogger Logger { get; }

    // The pool offers every idle block to the provider even when it throws, and counts the failures. Letting the exception
    // out would stop the container disposing the singletons created before this one (the server, the logger factory,
    // the application's own), so it is logged, as a request's release does.
    public void Dispose()
    {
        try
        {
            SlabPool.Dispose();
        }
        catch (Exception ex)
        {
            RequestArenaLog.SlabPoolDisposeFailed(Logger, ex);
        }
    }
}
