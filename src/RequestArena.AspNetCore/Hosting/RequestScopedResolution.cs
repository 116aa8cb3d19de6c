using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore;

// How DI factories of objects that belong to the current request (the allocator, the adapters, the Pipelines arena)
// find that request, and refuse everywhere else.
internal static class RequestScopedResolution
{
    // The current request, when `services` is its own services. Where no request is running there is nothing to hand
    // out; any other provider (the root, a singleton's, a scope of other work) would cache the request's object for later
    // callers, keep a transient disposable past the request, or dispose the object while the request still uses it.
    public static HttpContext RequestOf(IServiceProvider services, string noRequestMessage, string otherProviderMessage)
    {
        HttpContext context = services.GetRequiredService<IHttpContextAccessor>().HttpContext
            ?? throw new InvalidOperationException(noRequestMessage);

        if (!ReferenceEquals(services, context.RequestServices))
        {
            throw new InvalidOperationException(otherProviderMessage);
        }

        return context;
    }
}
