using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RequestArena.AspNetCore;
using RequestArena.Pipelines;
using PipelinesArena = Pipelines.Sockets.Unofficial.Arenas.Arena;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the per-request Pipelines.Sockets.Unofficial arena.</summary>
public static class RequestArenaPipelinesServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PipelinesArena">Pipelines.Sockets.Unofficial.Arenas.Arena</see> as a service that is, inside
    /// a request, the request's own arena (the one <c>HttpContext.GetRequestPipelinesArena()</c> returns), whose blocks
    /// come from the request's <c>IModuleAllocator</c> through <see cref="SlabAllocatorFactory"/>. Call
    /// <c>AddRequestArena()</c> and <c>UseRequestArena()</c> too.
    /// </summary>
    /// <remarks>
    /// Memory from it reads as zeros when handed out, counts against the request's quota, and goes back to the slab pool
    /// with the request's arena: after the response has been sent, or at once when the endpoint fails. A
    /// <c>Sequence&lt;T&gt;</c> kept past that throws <see cref="ObjectDisposedException"/>; it never shows another
    /// request's data. Like every Pipelines arena it is not thread-safe. Resolving it where no request is running, or
    /// from a provider other than the request's own services (the root provider, a scope created for other work),
    /// throws <see cref="InvalidOperationException"/>.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddRequestArenaPipelines(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.AddHttpContextAccessor();
        RequestScopedResolution.AddTo(services);
        // Transient, not scoped: the request scope would keep the first pass's arena, released when that pass failed,
        // for a re-executed pass that the request serves with a new one.
        services.TryAddTransient(static sp => RequestPipelinesArena.For(RequestOf(sp)));
        return services;
    }

    private static HttpContext RequestOf(IServiceProvider services) =>
        RequestScopedResolution.RequestOf(
            services,
            "The Pipelines arena belongs to the current request and was resolved where no request is running (IHttpContextAccessor.HttpContext is null). Resolve it inside a request, or create a Pipelines arena over a SlabAllocatorFactory for work outside requests.",
            "The Pipelines arena belongs to the current request and can be resolved only from its services (HttpContext.RequestServices), not from the root provider or a scope of its own, which would keep it past the request or dispose it while the request still uses it. Inject it into the request's handler or services, or call HttpContext.GetRequestPipelinesArena().");
}
