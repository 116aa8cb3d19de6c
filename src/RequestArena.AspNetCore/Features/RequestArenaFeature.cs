using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.ObjectPool;

namespace RequestArena.AspNetCore;

// Set on HttpContext.Features for the time the request runs through the middleware. Pooled, so a request that never
// touches its arena allocates nothing; the per-request allocator is created only on first use, and that is also when
// the endpoint's metadata is read (which is what lets the middleware skip metadata lookups on the fast path).
internal sealed class RequestArenaFeature : IRequestArenaFeature
{
    private static readonly Func<object, Task> s_release = static state =>
    {
        ((RequestArenaAllocator)state).Release();
        return Task.CompletedTask;
    };

    private RequestArenaRuntime? _runtime;
    private HttpContext? _context;
    private RequestArenaAllocator? _allocator;

    public IModuleAllocator Allocator => Volatile.Read(ref _allocator) ?? CreateAllocator();

    // The allocator if the request asked for one, without creating it.
    public RequestArenaAllocator? CurrentAllocator => Volatile.Read(ref _allocator);

    // The runtime comes with each request rather than with the object, so one cached feature serves any application
    // in the process (tests run many).
    public void Attach(HttpContext context, RequestArenaRuntime runtime)
    {
        _context = context;
        _runtime = runtime;
    }

    public void Detach()
    {
        _context = null;
        _runtime = null;
        _allocator = null;
    }

    // A pipeline re-executed for a request whose endpoint failed (UseExceptionHandler, status-code pages) takes the
    // request's suspended allocator up again: one allocator per request, the one scoped services already captured.
    public void ResumeSuspended(RequestArenaAllocator suspended)
    {
        HttpContext context = _context!;
        Endpoint? endpoint = context.GetEndpoint();
        if (!IsEnabled(endpoint, out long maxBytes, _runtime!))
        {
            return;
        }

        if (suspended.TryResume(endpoint, maxBytes))
        {
            suspended.EnterPipeline();
            _allocator = suspended;
        }
    }

    private RequestArenaAllocator CreateAllocator()
    {
        HttpContext? context = _context;
        RequestArenaRuntime? runtime = _runtime;
        if (context is null || runtime is null)
        {
            ThrowLeft();
        }

        Endpoint? endpoint = context.GetEndpoint();
        if (!IsEnabled(endpoint, out long maxBytes, runtime))
        {
            throw new InvalidOperationException(
                $"The request arena is disabled for endpoint '{endpoint!.DisplayName}' by DisableRequestArena() or [DisableRequestArena]; remove it to use the arena (IModuleAllocator, GetRequestArena()) there.");
        }

        // An earlier pass of this request through the middleware (the pipeline re-executed by UseExceptionHandler or
        // UseStatusCodePagesWithReExecute) already has an allocator, and the request's DI scope has cached it: keep
        // one per request. A suspended one (the earlier pass failed) starts over with this endpoint's limit.
        if (context.Features.Get<RequestArenaAllocator>() is { IsReleased: false } earlier
            && (earlier.IsActive || earlier.TryResume(endpoint, maxBytes)))
        {
            earlier.EnterPipeline();
            return Interlocked.CompareExchange(ref _allocator, earlier, null) ?? earlier;
        }

        var allocator = new RequestArenaAllocator(runtime, context, endpoint, maxBytes);
        if (Interlocked.CompareExchange(ref _allocator, allocator, null) is { } winner)
        {
            return winner;
        }

        allocator.EnterPipeline();

        context.Features.Set(allocator);

        // Release after the response has been sent, so arena memory may back the response body. Registered only now
        // that the arena is used: a request that never touches it registers nothing.
        context.Response.OnCompleted(s_release, allocator);
        return allocator;
    }

    // Read at first use rather than by the middleware, which is what keeps metadata lookups off the fast path.
    private static bool IsEnabled(Endpoint? endpoint, out long maxBytes, RequestArenaRuntime runtime)
    {
        EndpointMetadataCollection? metadata = endpoint?.Metadata;

        // Disable wins over any limit, wherever each was declared (RequestTimeouts does the same).
        if (metadata?.GetMetadata<DisableRequestArenaAttribute>() is not null)
        {
            maxBytes = 0;
            return false;
        }

        maxBytes = metadata?.GetMetadata<RequestArenaAttribute>()?.MaxBytes ?? runtime.MaxBytesPerRequest;
        return true;
    }

    [DoesNotReturn]
    private static void ThrowLeft() =>
        throw new ObjectDisposedException(nameof(IRequestArenaFeature), "The request has left the request arena middleware; its arena is no longer available through this feature.");

    internal sealed class Policy : PooledObjectPolicy<RequestArenaFeature>
    {
        public override RequestArenaFeature Create() => new();

        public override bool Return(RequestArenaFeature obj)
        {
            obj.Detach();
            return true;
        }
    }
}
