using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RequestArena.Adapters;
using RequestArena.AspNetCore;
using RequestArena.AspNetCore.Adapters;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the per-request allocator adapters of <c>RequestArena.Adapters</c>.</summary>
public static class RequestArenaAdaptersServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="BidiAllocator"/>, <see cref="RpcScopeEnvironment"/> and <see cref="NdisMemoryAllocator"/> as
    /// services over the current request's arena (call <c>AddRequestArena()</c> and <c>UseRequestArena()</c>
    /// too), and makes each request of this application the RPC stub: inside such a request, <see cref="RpcScopeAllocator"/>
    /// finds the request's environment without <see cref="RpcScopeAllocator.EnableAllocate()"/>. Nothing outside the
    /// application changes: another host in the same process that did not add the adapters has no request environment.
    /// </summary>
    /// <remarks>
    /// Each adapter is created the first time a request asks for it (from DI or the <c>HttpContext</c> extensions,
    /// which return the same object) and released when the request's arena is: after the response has been sent, or
    /// at once when the endpoint fails. A pipeline re-executed after a failure (<c>UseExceptionHandler</c>) gets new
    /// ones, from DI as from the extensions: each resolution asks the request for its current adapter (the services are
    /// transient, the object is the request's). A request that uses none of them pays nothing. Resolving an adapter
    /// where no request is running, or from a provider other than the request's own services (the root provider, a
    /// scope created for other work), throws <see cref="InvalidOperationException"/>.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddRequestArenaAdapters(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.AddHttpContextAccessor();
        RequestScopedResolution.AddTo(services);
        // Checked at start, because the allocator's constructor would otherwise refuse them at the first request
        // that asks for it, long after a deployment looked healthy.
        services.AddOptions<NdisMemoryAllocatorOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NdisMemoryAllocatorOptions>, NdisOptionsValidator>());
        // Transient, not scoped: the request scope would keep the first pass's adapter, released when that pass failed,
        // for a re-executed pass that the request's holder serves with a new one.
        services.TryAddTransient(static sp => Adapters(sp).Bidi);
        services.TryAddTransient(static sp => Adapters(sp).Rpc);
        services.TryAddTransient(static sp => Adapters(sp).Ndis);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, RequestArenaRpcStubStartupFilter>());
        return services;
    }

    /// <summary>
    /// Registers the adapters (see <see cref="AddRequestArenaAdapters(IServiceCollection)"/>) and configures the
    /// options every request's <see cref="NdisMemoryAllocator"/> gets. The options are validated when the host starts:
    /// a <see cref="NdisMemoryAllocatorOptions.MaxContiguousLength"/> of 0 or less or a negative
    /// <see cref="NdisMemoryAllocatorOptions.MaxNativeBytes"/> stops it with an <c>OptionsValidationException</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configureNdis">Sets the NDIS-style allocator's options.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddRequestArenaAdapters(this IServiceCollection services, Action<NdisMemoryAllocatorOptions> configureNdis)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configureNdis);

        services.Configure(configureNdis);
        return services.AddRequestArenaAdapters();
    }

    private static RequestArenaAdapters Adapters(IServiceProvider services) =>
        RequestArenaAdapters.For(RequestScopedResolution.RequestOf(
            services,
            "The RequestArena adapters (BidiAllocator, RpcScopeEnvironment, NdisMemoryAllocator) belong to the current request and were resolved where no request is running (IHttpContextAccessor.HttpContext is null). Resolve them inside a request, or create them over an Arena for work outside requests.",
            "The RequestArena adapters (BidiAllocator, RpcScopeEnvironment, NdisMemoryAllocator) belong to the current request and can be resolved only from its services (HttpContext.RequestServices), not from the root provider or a scope of its own, which would keep them past the request or dispose them while the request still uses them. Inject them into the request's handler or services, or call HttpContext.GetBidiAllocator(), GetRpcScopeEnvironment() or GetNdisMemoryAllocator()."));

    // The NdisMemoryAllocator constructor's own rules, run at host start (ValidateOnStart) with a message naming the
    // option, the accepted range and the value found.
    private sealed class NdisOptionsValidator : IValidateOptions<NdisMemoryAllocatorOptions>
    {
        public ValidateOptionsResult Validate(string? name, NdisMemoryAllocatorOptions options)
        {
            List<string>? failures = null;

            if (options.MaxContiguousLength <= 0)
            {
                (failures ??= []).Add($"NdisMemoryAllocatorOptions.MaxContiguousLength must be positive; it was {options.MaxContiguousLength}.");
            }

            if (options.MaxNativeBytes < 0)
            {
                (failures ??= []).Add($"NdisMemoryAllocatorOptions.MaxNativeBytes must be 0 (no limit of its own) or positive; it was {options.MaxNativeBytes}.");
            }

            return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
