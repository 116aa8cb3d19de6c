using RequestArena.Adapters;
using RequestArena.AspNetCore.Adapters;

namespace Microsoft.AspNetCore.Http;

/// <summary>
/// Reaches the current request's allocator adapters from an <see cref="HttpContext"/>. Each is created on first use
/// over the request's arena, is the same object DI injects during this request, and is released with the request's
/// arena. They work with <c>UseRequestArena()</c> alone; <c>AddRequestArenaAdapters()</c> adds DI injection and the
/// ambient RPC environment.
/// </summary>
public static class RequestArenaAdaptersHttpContextExtensions
{
    /// <summary>The request's bidi-style allocator (<c>RouterAllocBidiMem</c> / <c>RouterFreeBidiMem</c>).</summary>
    /// <param name="context">The current request.</param>
    /// <returns>The allocator.</returns>
    /// <exception cref="InvalidOperationException">
    /// The request is not running inside <c>UseRequestArena()</c>, or the arena is disabled for its endpoint.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The request has completed or its endpoint failed.</exception>
    public static BidiAllocator GetBidiAllocator(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RequestArenaAdapters.For(context).Bidi;
    }

    /// <summary>
    /// The request's RPC stub memory-management environment (what <c>RpcSmGetThreadHandle</c> returns inside the
    /// request); hand it to work that does not inherit the request's flow with <see cref="RpcScopeAllocator.SetThreadHandle"/>.
    /// </summary>
    /// <param name="context">The current request.</param>
    /// <returns>The environment.</returns>
    /// <exception cref="InvalidOperationException">
    /// The request is not running inside <c>UseRequestArena()</c>, or the arena is disabled for its endpoint.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The request has completed or its endpoint failed.</exception>
    public static RpcScopeEnvironment GetRpcScopeEnvironment(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RequestArenaAdapters.For(context).Rpc;
    }

    /// <summary>The request's NDIS-style allocator (<c>NdisAllocateMemory</c> / <c>NdisFreeMemory</c>).</summary>
    /// <param name="context">The current request.</param>
    /// <returns>The allocator.</returns>
    /// <exception cref="InvalidOperationException">
    /// The request is not running inside <c>UseRequestArena()</c>, or the arena is disabled for its endpoint.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The request has completed or its endpoint failed.</exception>
    public static NdisMemoryAllocator GetNdisMemoryAllocator(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RequestArenaAdapters.For(context).Ndis;
    }
}
