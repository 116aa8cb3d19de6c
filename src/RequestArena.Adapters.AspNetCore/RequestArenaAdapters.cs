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
        // A handle that is a cleanup registry has taken the adapter's registration in the adapter's constructor, and
        // refused it with ObjectDisposedException had the request already ended. Any other handle cannot release it,
        // so the response does.
        if (_handle is not ICleanupRegistry)
        {
            _context.Response.RegisterForDispose(adapter);
        }

        return adapter;
    }
}
