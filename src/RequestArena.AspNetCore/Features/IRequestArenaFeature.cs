namespace RequestArena.AspNetCore;

/// <summary>
/// The request's arena, set on <c>HttpContext.Features</c> by the request arena middleware while the request runs
/// through it. Each request has its own feature: one kept past its request refuses (it never answers for a later
/// request); keep the <see cref="Allocator"/> if you must keep something.
/// </summary>
public interface IRequestArenaFeature
{
    /// <summary>
    /// The request's allocator: the same object <c>HttpContext.GetRequestArena()</c> and dependency injection return
    /// during this request, and a different one for every other request. Its memory, and the allocator itself, throw
    /// <see cref="ObjectDisposedException"/> once the response has completed. The arena behind it is taken from the
    /// pool only when something is first allocated.
    /// </summary>
    /// <exception cref="InvalidOperationException">The arena is disabled for the request's endpoint.</exception>
    /// <exception cref="ObjectDisposedException">The request has left the request arena middleware, or has ended.</exception>
    IModuleAllocator Allocator { get; }
}
