using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RequestArena.Adapters;

namespace RequestArena.AspNetCore.Adapters;

// Makes each request of this host the RPC stub: a flow with no RPC environment of its own that runs inside one of the
// host's requests finds the request's environment, created on first use. It tells RpcScopeAllocator where to look on
// the request's own flow, so only this host's requests act as the stub; other hosts in the process are left alone.
internal sealed class RequestArenaRpcStubMiddleware
{
    private readonly RequestDelegate _next;
    private readonly IHttpContextAccessor _accessor;
    private readonly RequestArenaRuntime? _runtime;
    private readonly Func<RpcScopeEnvironment?> _find;

    public RequestArenaRpcStubMiddleware(RequestDelegate next, IHttpContextAccessor accessor, IServiceProvider services)
    {
        _next = next;
        _accessor = accessor;

        // Optional: without AddRequestArena no request of this host has an arena, and Find answers none.
        _runtime = services.GetService<RequestArenaRuntime>();
        _find = Find;
    }

    public Task Invoke(HttpContext context)
    {
        // Synchronous on purpose: the value may stay on the server's connection flow after the request, which is
        // harmless because it names this host, not the request (Find asks the accessor which request is running, and
        // it answers null between requests). The next request on the connection then finds it set and pays nothing.
        RpcScopeAllocator.SetRequestEnvironmentSource(_find);
        return _next(context);
    }

    private RpcScopeEnvironment? Find()
    {
        // The flow can carry this source into a request of another host in the process (a handler that calls that
        // host in-process with the execution context preserved), and the accessor, one AsyncLocal for the whole
        // process, then names the other host's request. Only a request whose arena this host's middleware serves is
        // this host's. The check rides on the feature the arena middleware sets anyway, so requests that never use RPC
        // memory pay nothing for it.
        HttpContext? context = _accessor.HttpContext;
        if (_runtime is null || context?.Features.Get<IRequestArenaFeature>() is not RequestArenaFeature feature || !feature.IsServedBy(_runtime))
        {
            return null;
        }

        try
        {
            return RequestArenaAdapters.For(context).Rpc;
        }
        catch (Exception ex) when (ex is InvalidOperationException)
        {
            // The endpoint disabled its arena, or the request is ending: no environment, which the caller reports
            // as a status (ObjectDisposedException is an InvalidOperationException too).
            return null;
        }
    }
}
