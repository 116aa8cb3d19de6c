using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace RequestArena.AspNetCore;

// How DI factories of objects that belong to the current request (the allocator, the adapters, the Pipelines arena)
// find that request, and refuse everywhere else.
internal static class RequestScopedResolution
{
    // What RequestOf needs registered; every AddX whose factories call it adds it.
    public static void AddTo(IServiceCollection services) => services.TryAddScoped<ScopeIdentity>();

    // The current request, when `services` is its own services. Where no request is running there is nothing to hand
    // out; any other provider (the root, a singleton's, a scope of other work) would cache the request's object for later
    // callers, keep a transient disposable past the request, or dispose the object while the request still uses it.
    public static HttpContext RequestOf(IServiceProvider services, string noRequestMessage, string otherProviderMessage)
    {
        HttpContext context = services.GetRequiredService<IHttpContextAccessor>().HttpContext
            ?? throw new InvalidOperationException(noRequestMessage);

        if (!ReferenceEquals(services, context.RequestServices) && !SameScope(services, context.RequestServices))
        {
            throw new InvalidOperationException(otherProviderMessage);
        }

        return context;
    }

    // Containers other than the built-in one (Autofac, for one) hand a factory a provider object of their own over the
    // request's scope, never the object that is RequestServices. Both answer with the scope's one ScopeIdentity; the
    // root, a child scope or another request's services answer with another.
    private static bool SameScope(IServiceProvider services, IServiceProvider requestServices)
    {
        object? own;
        try
        {
            own = services.GetService(typeof(ScopeIdentity));
        }
        catch (InvalidOperationException)
        {
            // Scope validation refuses a scoped service from the root provider: not the request's services.
            return false;
        }

        return own is not null && ReferenceEquals(own, requestServices.GetService(typeof(ScopeIdentity)));
    }

    // One per DI scope: what tells a scope apart, whatever provider objects a container wraps it in.
    private sealed class ScopeIdentity;
}
