using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaServiceCollectionExtensionsTests
{
    [Fact]
    public void AddRequestArena_CalledTwice_RegistersEachServiceOnce()
    {
        var services = new ServiceCollection();

        services.AddRequestArena();
        services.AddRequestArena(o => o.MaxBytesPerRequest = 10);

        Assert.Single(services, d => d.ServiceType == typeof(IModuleAllocator));
        Assert.Single(services, d => d.ServiceType == typeof(RequestArenaStatistics));
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<RequestArenaOptions>));
    }

    [Fact]
    public void AddRequestArena_CalledTwiceWithConfigure_AppliesBothInOrder()
    {
        using ServiceProvider provider = new ServiceCollection()
            .AddRequestArena(o => o.MaxBytesPerRequest = 10)
            .AddRequestArena(o => o.SlabSize = 8192)
            .AddRequestArena(o => o.MaxBytesPerRequest *= 3)
            .BuildServiceProvider();

        RequestArenaOptions options = provider.GetRequiredService<IOptions<RequestArenaOptions>>().Value;

        Assert.Equal(30, options.MaxBytesPerRequest);
        Assert.Equal(8192, options.SlabSize);
    }

    [Fact]
    public async Task AddRequestArena_CalledTwice_AppStillServesOneAllocatorPerRequest()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena().AddRequestArena(),
            app =>
            {
                app.UseRequestArena();
                app.MapGet("/", (Microsoft.AspNetCore.Http.HttpContext context, IModuleAllocator arena) => ReferenceEquals(arena, Microsoft.AspNetCore.Http.RequestArenaHttpContextExtensions.GetRequestArena(context)));
            });

        Assert.Equal("true", await host.Client.GetStringAsync("/"));
    }

    [Fact]
    public void AddRequestArena_RegistersModuleAllocatorAsScoped()
    {
        var services = new ServiceCollection().AddRequestArena();

        ServiceDescriptor descriptor = Assert.Single(services, d => d.ServiceType == typeof(IModuleAllocator));

        Assert.Equal(ServiceLifetime.Scoped, descriptor.Lifetime);
    }

    [Fact]
    public async Task ModuleAllocator_ResolvedOutsideRequest_ThrowsSayingNoRequestIsRunning()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/", () => "ok"));
        using IServiceScope scope = host.Services.CreateScope();

        var ex = Assert.Throws<InvalidOperationException>(() => scope.ServiceProvider.GetRequiredService<IModuleAllocator>());

        Assert.Contains("no request is running", ex.Message);
    }

    // In Production (no scope validation) the root provider would cache the first request's handle and hand it, dead,
    // to every later caller; a scope of the handler's own would do the same for its life.
    [Fact]
    public async Task ModuleAllocator_ResolvedFromTheRootOrAChildScopeInARequest_ThrowsAndTheRequestsOwnWorks()
    {
        IServiceProvider? root = null;
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            root = app.Services;
            app.MapGet("/", (HttpContext context, IModuleAllocator arena) =>
            {
                ResolutionAssert.RefusedOutsideTheRequestsServices<IModuleAllocator>(root!, context);
                Assert.Same(arena, context.RequestServices.GetRequiredService<IModuleAllocator>());
                return arena.AllocateMemory(10).Length;
            });
        });

        Assert.Equal("10", await host.Client.GetStringAsync("/"));
        Assert.Equal("10", await host.Client.GetStringAsync("/"));
    }

    // Autofac hands each factory a provider object of its own over the request's lifetime scope, never the object that is
    // HttpContext.RequestServices: the request's own services are told by their scope, not by the provider object.
    [Fact]
    public async Task ModuleAllocator_UnderAutofac_IsTheRequestsOwnAndOtherScopesAreStillRefused()
    {
        IServiceProvider? root = null;
        await using var host = await ArenaTestHost.StartUnderAutofacAsync(
            services => services.AddRequestArena(),
            app =>
            {
                root = app.Services;
                app.MapGet("/", (HttpContext context, IModuleAllocator arena) =>
                {
                    ResolutionAssert.RefusedOutsideTheRequestsServices<IModuleAllocator>(root!, context);
                    bool same = ReferenceEquals(arena, context.GetRequestArena())
                        && ReferenceEquals(arena, context.RequestServices.GetRequiredService<IModuleAllocator>());
                    return $"same {same}, {arena.AllocateMemory(10).Length}";
                });
            });

        Assert.Equal("same True, 10", await host.Client.GetStringAsync("/"));
        Assert.Equal("same True, 10", await host.Client.GetStringAsync("/"));
    }

    [Fact]
    public void AddRequestArena_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => RequestArenaServiceCollectionExtensions.AddRequestArena(null!));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddRequestArena(null!));
    }

    [Fact]
    public void AddRequestArena_RegistersStatisticsAsSingleton()
    {
        using ServiceProvider provider = new ServiceCollection().AddRequestArena().BuildServiceProvider();

        RequestArenaStatistics first = provider.GetRequiredService<RequestArenaStatistics>();

        Assert.Same(first, provider.GetRequiredService<RequestArenaStatistics>());
        Assert.Equal(0, first.GetSnapshot().Requests);
    }
}
