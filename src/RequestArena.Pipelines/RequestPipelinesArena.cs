using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipelines.Sockets.Unofficial.Arenas;
using RequestArena.AspNetCore;
using PipelinesArena = Pipelines.Sockets.Unofficial.Arenas.Arena;
using PipelinesArenaOptions = Pipelines.Sockets.Unofficial.Arenas.ArenaOptions;

namespace RequestArena.Pipelines;

// One request's Pipelines arena, kept on the request's features so that DI and the HttpContext extension hand out the
// same object. Its blocks come from the request's IModuleAllocator, so they go back to the slab pool exactly when the
// request's arena does (after the response, or at once when the endpoint fails), and memory kept past that throws.
//
// A failed pass releases the request's arena at once and a re-executed pipeline resumes the same handle with fresh
// memory, so the holder is bound to one arena cycle of the handle, not only to the handle: it registers for cleanup and
// is stale from the release on, and the next use builds a new Pipelines arena.
internal sealed class RequestPipelinesArena
{
    // Keep every block across Reset within the request: a block dropped by a retention policy is not memory given
    // back (the request's arena frees nothing piece by piece), so dropping and re-carving would only grow the request.
    // Kept blocks are handed out again after a Reset, so they are cleared then (only what was used): memory from the
    // arena reads as zeros when handed out, the first time or after a Reset within the request.
    private static readonly PipelinesArenaOptions s_options = new(
        PipelinesArenaOptions.Default.Flags | ArenaFlags.ClearAtReset,
        retentionPolicy: RetentionPolicy.Everything);

    private readonly IModuleAllocator _handle;
    private readonly CycleRevocation _released = new();   // disposed by the release of the request's arena

    private RequestPipelinesArena(IModuleAllocator handle, PipelinesArena arena)
    {
        _handle = handle;
        Arena = arena;
    }

    public PipelinesArena Arena { get; }

    public static PipelinesArena For(HttpContext context)
    {
        // Throws, with the middleware's own message, outside UseRequestArena or on an endpoint that disabled it.
        IModuleAllocator handle = context.GetRequestArena();

        // Features can outlive a request on a pooled connection, so the holder must belong to this request's handle.
        RequestPipelinesArena? holder = context.Features.Get<RequestPipelinesArena>();
        if (holder is not null && ReferenceEquals(holder._handle, handle) && !holder._released.IsRevoked)
        {
            return holder.Arena;
        }

        // With zeroing off for the app, the allocator clears blocks itself: a Pipelines arena never shows bytes that
        // another request left in a slab.
        bool zeroes = context.RequestServices?.GetService<IOptions<RequestArenaOptions>>()?.Value.ZeroMemory ?? false;
        var arena = new PipelinesArena(s_options, new SlabAllocatorFactory(handle, zeroes, SlabAllocatorFactory.DefaultBlockSizeBytes));
        holder = new RequestPipelinesArena(handle, arena);
        if (handle is ICleanupRegistry registry)
        {
            registry.RegisterForCleanup(holder._released);
        }

        context.Features.Set(holder);

        // Drops the arena's blocks after the response; their memory itself goes back with the request's arena.
        context.Response.RegisterForDispose(arena);
        return arena;
    }
}
