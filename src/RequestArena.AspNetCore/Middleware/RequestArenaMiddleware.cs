using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.ObjectPool;

namespace RequestArena.AspNetCore;

// Gives every request a lazily created arena. The fast path (a request that never touches its arena and completes
// synchronously) takes a pooled feature, sets it, calls next and puts the feature back: no allocation, no arena, no
// metadata lookup. Everything else (awaiting, exceptions, the limit response) lives in AwaitAsync.
//
// Release: after the response has been sent (an OnCompleted callback registered when the arena is first used), or
// here when the endpoint throws, because not every server runs OnCompleted callbacks when the pipeline fails.
internal sealed class RequestArenaMiddleware
{
    // Shared by every middleware instance in the process: features carry no application state between requests.
    private static readonly ObjectPool<RequestArenaFeature> s_features =
        new DefaultObjectPool<RequestArenaFeature>(new RequestArenaFeature.Policy(), Environment.ProcessorCount * 16);

    // One feature per thread in front of the pool: taking and returning it costs two plain TLS accesses instead of the
    // pool's two interlocked operations, a large share of this fast path (MiddlewareBenchmarks measures it). A request that completes on another
    // thread simply fills that thread's slot or goes back to the pool.
    [ThreadStatic]
    private static RequestArenaFeature? t_feature;

    private readonly RequestDelegate _next;
    private readonly RequestArenaRuntime _runtime;

    // Until a request arrives with its endpoint already selected, each request checks whether routing ran after this
    // middleware; one read of this field is all the check costs once it is settled.
    private volatile bool _routingOrderKnown;

    public RequestArenaMiddleware(RequestDelegate next, RequestArenaRuntime runtime, bool routingRegisteredBefore)
    {
        _next = next;
        _runtime = runtime;
        _routingOrderKnown = routingRegisteredBefore;
    }

    public Task Invoke(HttpContext context)
    {
        bool checkRouting = !_routingOrderKnown && NoEndpointYet(context);

        RequestArenaFeature? feature = t_feature;
        if (feature is not null)
        {
            t_feature = null;
        }
        else
        {
            feature = s_features.Get();
        }

        feature.Attach(context, _runtime);
        context.Features.Set<IRequestArenaFeature>(feature);
        if (_runtime.AllocatorsSuspended)
        {
            ResumeSuspended(context, feature);
        }

        Task task;
        try
        {
            task = _next(context);
        }
        catch (Exception ex)
        {
            task = Task.FromException(ex);
        }

        if (task.IsCompletedSuccessfully && !checkRouting)
        {
            Leave(context, feature);
            return task;
        }

        return AwaitAsync(context, feature, task, checkRouting);
    }

    private async Task AwaitAsync(HttpContext context, RequestArenaFeature feature, Task task, bool checkRouting)
    {
        try
        {
            await task;
        }
        catch (Exception ex)
        {
            RequestArenaAllocator? allocator = feature.CurrentAllocator;
            Leave(context, feature);
            if (checkRouting)
            {
                CheckRoutingOrder(context);
            }

            if (allocator is not null)
            {
                // Suspended below: memory released now rather than at OnCompleted, which not every server runs after
                // a failure. A re-executed pipeline (UseExceptionHandler) finds it on the request and resumes it.
                _runtime.AllocatorsSuspended = true;
            }

            if (ex is not ArenaLimitExceededException limit)
            {
                allocator?.Suspend();
                throw;
            }

            // Count once whether the request's own arena refused the allocation or another arena did; the allocator
            // counts at release only if it holds an arena.
            if (allocator is null || !allocator.IsActive || !allocator.HasArena)
            {
                _runtime.Metrics.LimitExceeded(context.GetEndpoint());
            }
            else
            {
                allocator.MarkLimitExceeded();
            }

            allocator?.Suspend();

            string endpointName = context.GetEndpoint()?.DisplayName ?? context.Request.Path.Value ?? "/";
            if (context.Response.HasStarted)
            {
                RequestArenaLog.LimitExceededResponseStarted(_runtime.Logger, endpointName, limit.Requested, limit.Limit, limit.Allocated);
                throw;
            }

            int status = _runtime.LimitExceededStatusCode;
            RequestArenaLog.LimitExceeded(_runtime.Logger, endpointName, limit.Requested, limit.Limit, limit.Allocated, status);
            await LimitExceededResponse.WriteAsync(context, status, limit);
            return;
        }

        Leave(context, feature);
        if (checkRouting)
        {
            CheckRoutingOrder(context);
        }
    }

    // The feature leaves the request with the middleware: code that runs outside UseRequestArena (outer middleware,
    // a captured context) must not reach an arena, and the pooled feature may serve another request next.
    // The allocator lives on until its release.
    private static void Leave(HttpContext context, RequestArenaFeature feature)
    {
        feature.CurrentAllocator?.LeavePipeline();
        context.Features.Set<IRequestArenaFeature>(null);
        feature.Detach();
        if (t_feature is null)
        {
            t_feature = feature;
        }
        else
        {
            s_features.Return(feature);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ResumeSuspended(HttpContext context, RequestArenaFeature feature)
    {
        if (context.Features.Get<RequestArenaAllocator>() is { IsActive: false, IsReleased: false } suspended)
        {
            feature.ResumeSuspended(suspended);
        }
    }

    private bool NoEndpointYet(HttpContext context)
    {
        if (context.GetEndpoint() is not null)
        {
            _routingOrderKnown = true;
            return false;
        }

        return true;
    }

    private static bool MayHaveReExecuted(HttpContext context) =>
        context.Features.Get<IExceptionHandlerFeature>() is not null
        || (context.Features.Get<IStatusCodePagesFeature>() is not null && context.Response.StatusCode >= 400);

    private void CheckRoutingOrder(HttpContext context)
    {
        // No endpoint on the way in, one on the way out: routing ran inside this middleware. Unless the pipeline inside
        // may have been re-executed (status-code pages for an error status, the exception handler): those route the
        // path they re-execute themselves, wherever the application's routing is, so such a request settles nothing.
        if (context.GetEndpoint() is not null && !_routingOrderKnown && !MayHaveReExecuted(context))
        {
            _routingOrderKnown = true;
            RequestArenaLog.MiddlewareBeforeRouting(_runtime.Logger);
        }
    }
}
