using RequestArena.Pipelines;
using PipelinesArena = Pipelines.Sockets.Unofficial.Arenas.Arena;

namespace Microsoft.AspNetCore.Http;

/// <summary>Reaches the current request's Pipelines.Sockets.Unofficial arena from an <see cref="HttpContext"/>.</summary>
public static class RequestArenaPipelinesHttpContextExtensions
{
    /// <summary>
    /// Returns the request's Pipelines arena, created on first use: the same object an injected
    /// <see cref="PipelinesArena">Arena</see> is during this request (with <c>AddRequestArenaPipelines()</c>). Its blocks
    /// come from the request's <c>IModuleAllocator</c>, read as zeros and are released with the request.
    /// </summary>
    /// <param name="context">The current request.</param>
    /// <returns>The request's Pipelines arena.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    /// <exception cref="InvalidOperationException">
    /// The request is not running inside <c>UseRequestArena()</c>, or the arena is disabled for its endpoint.
    /// </exception>
    public static PipelinesArena GetRequestPipelinesArena(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RequestPipelinesArena.For(context);
    }
}
