using RequestArena;
using RequestArena.AspNetCore;

namespace Microsoft.AspNetCore.Http;

/// <summary>Reaches the current request's arena from an <see cref="HttpContext"/>.</summary>
public static class RequestArenaHttpContextExtensions
{
    // The allocator this thread's last GetRequestArena answered with (see GetRequestArena).
    [ThreadStatic]
    private static RequestArenaAllocator? t_last;

    /// <summary>
    /// Returns the request's allocator: the same object as <see cref="IRequestArenaFeature.Allocator"/> and an injected
    /// <see cref="IModuleAllocator"/> during this request. Memory from it is released once the response has been sent.
    /// </summary>
    /// <param name="context">The current request.</param>
    /// <returns>The request's allocator.</returns>
    /// <exception cref="InvalidOperationException">
    /// The request is not running inside <c>UseRequestArena()</c> (the middleware is missing, placed after this code, or
    /// the request has left it), or the arena is disabled for the request's endpoint.
    /// </exception>
    public static IModuleAllocator GetRequestArena(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // The thread's last answer, if it is still this request's: a feature lookup costs a dictionary probe, and
        // handlers call this per allocation. An allocator names the context it serves and stops serving when its
        // request leaves the middleware or ends, so a context reused by the server for another request never gets it.
        if (t_last is { } last && last.Context == context && last.IsServing)
        {
            return last;
        }

        return GetRequestArenaSlow(context);
    }

    private static IModuleAllocator GetRequestArenaSlow(HttpContext context)
    {
        IRequestArenaFeature feature = context.Features.Get<IRequestArenaFeature>()
            ?? throw new InvalidOperationException(
                "This request has no arena: it is not running inside the request arena middleware. Call app.UseRequestArena() (after UseRouting(), before the endpoints) and builder.Services.AddRequestArena().");

        IModuleAllocator allocator = feature.Allocator;
        if (allocator is RequestArenaAllocator known)
        {
            t_last = known;
        }

        return allocator;
    }
}
