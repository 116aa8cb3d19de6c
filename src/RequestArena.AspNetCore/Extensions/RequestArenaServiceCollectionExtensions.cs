using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RequestArena;
using RequestArena.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the request arena services.</summary>
public static class RequestArenaServiceCollectionExtensions
{
    /// <summary>
    /// Registers what <c>UseRequestArena()</c> needs: <see cref="RequestArenaOptions"/> (validated when the host
    /// starts), the slab pool, metrics (meter <c>RequestArena</c>), <see cref="RequestArenaStatistics"/>, and
    /// <see cref="IModuleAllocator"/> as a scoped service that returns the current request's allocator.
    /// Calling it more than once registers the services once.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddRequestArena(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.AddOptions<RequestArenaOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RequestArenaOptions>, RequestArenaOptionsValidator>());
        services.AddLogging();
        services.AddMetrics();
        services.AddHttpContextAccessor();

        services.TryAddSingleton<RequestArenaMarkerService>();
        services.TryAddSingleton<RequestArenaPools>();
        services.TryAddSingleton(static sp => new RequestArenaStatistics(sp.GetRequiredService<RequestArenaPools>().SlabPool));
        services.TryAddSingleton<RequestArenaMetrics>();
        services.TryAddSingleton<RequestArenaRuntime>();
        services.TryAddScoped(static sp => GetCurrentRequestAllocator(sp));
        RequestScopedResolution.AddTo(services);
        return services;
    }

    /// <summary>
    /// Registers the request arena services (see <see cref="AddRequestArena(IServiceCollection)"/>) and configures
    /// <see cref="RequestArenaOptions"/>. Each call adds its <paramref name="configure"/>; they run in order.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddRequestArena(this IServiceCollection services, Action<RequestArenaOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.Configure(configure);
        return services.AddRequestArena();
    }

    private static IModuleAllocator GetCurrentRequestAllocator(IServiceProvider services) =>
        RequestScopedResolution.RequestOf(
            services,
            "IModuleAllocator is the current request's arena and was resolved where no request is running (IHttpContextAccessor.HttpContext is null). Resolve it inside a request, or create an Arena for work outside requests.",
            "IModuleAllocator is the current request's arena and can be resolved only from the request's services (HttpContext.RequestServices), not from the root provider, a singleton or a scope of its own, which would keep this request's allocator for later callers. Inject it into the request's handler or scoped services, or call HttpContext.GetRequestArena().")
        .GetRequestArena();
}
