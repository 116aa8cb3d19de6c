using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;

namespace RequestArena.AspNetCore;

// Set on HttpContext.Features for the time the request runs through the middleware; the per-request allocator is
// created only on first use, and that is also when the endpoint's metadata is read (which is what lets the middleware
// skip metadata lookups on the fast path).
//
// One per request, never reused: code may keep the feature past its request (the interface is public), and a reused
// object would hand such code the allocator of whichever request it serves next. A kept feature instead refuses once
// its request has left the middleware.
//
// Creating the allocator touches the request's context (features, OnCompleted), so it must never run once the request
// has left the middleware: the server may already be reusing the context for the connection's next request. A call on
// another thread (fire-and-forget work started by the handler) can race the middleware's exit, so creation and Leave
// exclude each other through _phase; Leave waits only while a creation is under way.
internal sealed class RequestArenaFeature : IRequestArenaFeature
{
    private const int Open = 0;
    private const int Creating = 1;
    private const int Left = 2;

    private static readonly Func<object, Task> s_release = static state =>
    {
        ((RequestArenaAllocator)state).Release();
        return Task.CompletedTask;
    };

    private readonly RequestArenaRuntime _runtime;
    private readonly HttpContext _context;
    private RequestArenaAllocator? _allocator;
    private int _phase;

    public RequestArenaFeature(HttpContext context, RequestArenaRuntime runtime)
    {
        _context = context;
        _runtime = runtime;
    }

    // Refused once the request has left the middleware, as before its first use: a kept feature never answers.
    public IModuleAllocator Allocator =>
        Volatile.Read(ref _phase) != Left && Volatile.Read(ref _allocator) is { } allocator ? allocator : CreateAllocator();

    // Which application's middleware serves the request: requests of several hosts in one process can share an async
    // flow, and what a host adds to its own requests must not answer for another's.
    public bool IsServedBy(RequestArenaRuntime runtime) => ReferenceEquals(_runtime, runtime);

    // The allocator if the request asked for one, without creating it.
    public RequestArenaAllocator? CurrentAllocator => Volatile.Read(ref _allocator);

    // The request leaves the middleware: no allocator is created through this feature from now on. Returns the one
    // created before, if any, once its creation has finished.
    public RequestArenaAllocator? Leave()
    {
        SpinWait spin = default;
        while (Interlocked.CompareExchange(ref _phase, Left, Open) == Creating)
        {
            spin.SpinOnce();
        }

        return Volatile.Read(ref _allocator);
    }

    // A pipeline re-executed for a request whose endpoint failed (UseExceptionHandler, status-code pages) takes the
    // request's suspended allocator up again: one allocator per request, the one scoped services already captured.
    public void ResumeSuspended(RequestArenaAllocator suspended)
    {
        Endpoint? endpoint = _context.GetEndpoint();
        if (!IsEnabled(endpoint, out long maxBytes, _runtime))
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
        SpinWait spin = default;
        while (true)
        {
            int phase = Interlocked.CompareExchange(ref _phase, Creating, Open);
            if (phase == Open)
            {
                break;
            }

            if (phase == Left)
            {
                ThrowLeft();
            }

            // Another thread is creating it: take its result, or its place if it failed.
            spin.SpinOnce();
            if (Volatile.Read(ref _allocator) is { } created)
            {
                return created;
            }
        }

        try
        {
            RequestArenaAllocator allocator = _allocator ?? CreateAllocatorExclusive();
            Volatile.Write(ref _allocator, allocator);
            return allocator;
        }
        finally
        {
            Volatile.Write(ref _phase, Open);
        }
    }

    // While the request is inside the middleware and no other thread creates one.
    private RequestArenaAllocator CreateAllocatorExclusive()
    {
        HttpContext context = _context;
        Endpoint? endpoint = context.GetEndpoint();
        if (!IsEnabled(endpoint, out long maxBytes, _runtime))
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
            return earlier;
        }

        var allocator = new RequestArenaAllocator(_runtime, context, endpoint, maxBytes);
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
}
