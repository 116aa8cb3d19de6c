using Microsoft.AspNetCore.Http;
using RequestArena.Adapters;

namespace RequestArena.AspNetCore.Adapters;

// Makes the request the RPC stub: a flow with no RPC environment of its own that runs inside a request finds the
// request's environment, created on first use. The lookup reads the HttpContextAccessor's flow-local slot, which
// AddRequestArena already has the host fill in for every request, so this adds nothing per request; it runs only
// when RpcScopeAllocator finds no environment on the flow.
internal static class RequestArenaRpcFallback
{
    private static readonly HttpContextAccessor s_accessor = new();

    public static void Install() => RpcScopeAllocator.SetAmbientFallback(Find);

    private static RpcScopeEnvironment? Find()
    {
        HttpContext? context = s_accessor.HttpContext;
        if (context?.Features.Get<IRequestArenaFeature>() is null)
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
