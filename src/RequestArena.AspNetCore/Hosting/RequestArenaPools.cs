using Microsoft.Extensions.Options;

namespace RequestArena.AspNetCore;

// The application's own slab pool rather than SlabPool.Shared: its slab size and retention come from
// RequestArenaOptions, its gauges describe request arenas only, and it is freed with the host.
internal sealed class RequestArenaPools : IDisposable
{
    public RequestArenaPools(IOptions<RequestArenaOptions> options)
    {
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

    public void Dispose() => SlabPool.Dispose();
}
