using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RequestArena.Adapters;

namespace RequestArena.AspNetCore.Adapters;

// One request's adapters, created one by one on first use and kept on the request's features so that DI and the
// HttpContext extensions hand out the same objects. A request that uses none never creates this object.
internal sealed class RequestArenaAdapters
{
    private readonly IModuleAllocator _handle;
    private readonly HttpContext _context;
    private readonly Lock _lock = new();
    private BidiAllocator? _bidi;
    private RpcScopeEnvironment? _rpc;
    private NdisMemoryAllocator? _ndis;

    private RequestArenaAdapters(HttpContext context, IModuleAllocator handle)
    {
        _context = context;
        _handle = handle;
    }

    public static RequestArenaAdapters For(HttpContext context)
    {
        // Throws, with the middleware's own message, outside UseRequestArena or on an endpoint that disabled it.
        IModuleAllocator handle = context.GetRequestArena();
        RequestArenaAdapters? adapters = context.Features.Get<RequestArenaAdapters>();

        // Features can outlive a request on a pooled connection, so the holder must belong to this request's handle.
        // Like the rest of HttpContext this is not meant for two threads' first use at the same instant; DI, which
        // most handlers go through, serialises scoped resolutions itself.
        if (adapters is null || adapters._handle != handle)
        {
            adapters = new RequestArenaAdapters(context, handle);
            context.Features.Set(adapters);
        }

        return adapters;
    }

    public BidiAllocator Bidi
    {
        get
        {
            lock (_lock)
            {
                return _bidi is { IsDisposed: false } bidi ? bidi : _bidi = Attach(new BidiAllocator(Source()));
            }
        }
    }

    public RpcScopeEnvironment Rpc
    {
        get
        {
            lock (_lock)
            {
                return _rpc is { IsReleased: false } rpc ? rpc : _rpc = Attach(new RpcScopeEnvironment(Source()));
            }
        }
    }

    public NdisMemoryAllocator Ndis
    {
        get
        {
            lock (_lock)
            {
                if (_ndis is { IsDisposed: false } ndis)
                {
                    return ndis;
                }

                NdisMemoryAllocatorOptions? options = _context.RequestServices?.GetService<IOptions<NdisMemoryAllocatorOptions>>()?.Value;
                return _ndis = Attach(new NdisMemoryAllocator(Source(), options));
            }
        }
    }

    // The request's handle itself, not the arena behind it: an adapter's own slow path then allocates through the
    // handle, which refuses once the request has ended instead of charging whichever request the pooled arena serves
    // next. Adapters register for cleanup through it (ICleanupRegistry), which releases them with the request.
    private IModuleAllocator Source() => _handle;

    private T Attach<T>(T adapter)
        where T : IDisposable
    {
        if (_handle is RequestArenaAllocator allocator)
        {
            // Had the request ended between renting and registering, the arena's cleanups would already have run;
            // an adapter nobody will release must not be handed out.
            if (!allocator.IsActive)
            {
                adapter.Dispose();
                throw new ObjectDisposedException(nameof(IModuleAllocator), "The request has completed (or its endpoint failed) and its arena has been released; adapters are available only while the request runs.");
            }
        }
        else
        {
            // A handle of unknown kind: release with the response instead.
            _context.Response.RegisterForDispose(adapter);
        }

        return adapter;
    }
}
