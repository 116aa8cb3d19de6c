using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace RequestArena.AspNetCore;

// Gives every request a lazily created arena. The fast path (a request that never touches its arena and completes
// synchronously) sets a feature, calls next and takes the feature off again: no arena, no metadata lookup. Everything
// else (awaiting, exceptions, the limit response) lives in AwaitAsync.
//
// Release: after the response has been sent (an OnCompleted callback registered when the arena is first used), or
// here when the endpoint throws, because not every server runs OnCompleted callbacks when the pipeline fails.
internal sealed class RequestArenaMiddleware
{
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

        var feature = new RequestArenaFeature(context, _runtime);
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
            RequestArenaAllocator? allocator = Leave(context, feature);
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
    // a captured context or feature) must not reach an arena through it. The allocator lives on until its release.
    private static RequestArenaAllocator? Leave(HttpContext context, RequestArenaFeature feature)
    {
        RequestArenaAllocator? allocator = feature.Leave();
        allocator?.LeavePipeline();
        context.Features.Set<IRequestArenaFeature>(null);
        return allocator;
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
