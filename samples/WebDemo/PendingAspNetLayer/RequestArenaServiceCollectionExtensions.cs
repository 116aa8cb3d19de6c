// Stand-in for branch `aspnet`; delete when merging it.
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using RequestArena;
using RequestArena.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

public static class RequestArenaServiceCollectionExtensions
{
    public static IServiceCollection AddRequestArena(this IServiceCollection services) => services.AddRequestArena(_ => { });

    public static IServiceCollection AddRequestArena(this IServiceCollection services, Action<RequestArenaOptions> configure)
    {
        var options = new RequestArenaOptions();
        configure(options);
        services.AddHttpContextAccessor();
        services.AddMetrics();
        services.AddSingleton(options);
        services.AddSingleton(sp => new PendingArenaState(options, sp.GetRequiredService<IMeterFactory>()));
        services.AddScoped<IModuleAllocator>(sp => sp.GetRequiredService<IHttpContextAccessor>().HttpContext?.GetRequestArena()
            ?? throw new InvalidOperationException("No request is running: the request arena exists only inside a request."));
        return services;
    }
}

public sealed class PendingArenaState
{
    public PendingArenaState(RequestArenaOptions options, IMeterFactory meters)
    {
        Options = options;
        Pool = new ArenaPool(SlabPool.Shared, new ArenaOptions { MaxBytes = options.MaxBytesPerRequest, ZeroMemory = options.ZeroMemory });
        Meter meter = meters.Create("RequestArena");
        Allocated = meter.CreateHistogram<long>("requestarena.request.allocated", "By");
    }

    public RequestArenaOptions Options { get; }
    public ArenaPool Pool { get; }
    public Histogram<long> Allocated { get; }
}
