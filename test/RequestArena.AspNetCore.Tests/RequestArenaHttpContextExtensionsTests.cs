using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaHttpContextExtensionsTests
{
    [Fact]
    public async Task GetRequestArena_MinimalApi_SameObjectAsParameterServicesAndFeature()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/same", (HttpContext context, IModuleAllocator parameter, [FromServices] IModuleAllocator fromServices) =>
        {
            IModuleAllocator viaContext = context.GetRequestArena();
            IModuleAllocator viaFeature = context.Features.Get<IRequestArenaFeature>()!.Allocator;
            IModuleAllocator viaProvider = context.RequestServices.GetRequiredService<IModuleAllocator>();
            return ReferenceEquals(viaContext, parameter)
                && ReferenceEquals(viaContext, fromServices)
                && ReferenceEquals(viaContext, viaFeature)
                && ReferenceEquals(viaContext, viaProvider);
        }));

        Assert.Equal("true", await host.Client.GetStringAsync("/same"));
    }

    // Requests of one keep-alive connection, often served by one thread: the answer GetRequestArena remembers per thread
    // must never outlive its request.
    [Fact]
    public async Task GetRequestArena_KeepAliveRequests_EachGetsItsOwnLiveAllocator()
    {
        var seen = new System.Collections.Concurrent.ConcurrentQueue<object>();
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/twice", (HttpContext context) =>
            {
                IModuleAllocator first = context.GetRequestArena();
                IModuleAllocator second = context.GetRequestArena();
                first.AllocateMemory(16);
                seen.Enqueue(first);
                return ReferenceEquals(first, second);
            }),
            kestrel: true);

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal("true", await host.Client.GetStringAsync("/twice"));
        }

        object[] allocators = [.. seen];
        Assert.Equal(5, allocators.Distinct(ReferenceEqualityComparer.Instance).Count());
        await Released.WaitUntilAsync(() => allocators.All(a => ((RequestArenaAllocator)a).IsReleased), "every allocator is released");
    }

    [Fact]
    public async Task GetRequestArena_OuterMiddlewareAfterAnEarlierCall_Throws()
    {
        string? outer = null;
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                app.Use(async (context, next) =>
                {
                    await next(context);
                    try
                    {
                        context.GetRequestArena();
                        outer = "answered";
                    }
                    catch (InvalidOperationException)
                    {
                        outer = "refused";
                    }
                });
                app.UseRouting();
                app.UseRequestArena();
                app.MapGet("/inner", (HttpContext context) => context.GetRequestArena().AllocateMemory(8).Length);
            });

        Assert.Equal("8", await host.Client.GetStringAsync("/inner"));
        Assert.Equal("refused", outer);
    }

    [Fact]
    public async Task GetRequestArena_Controller_SameObjectAsConstructorActionParameterAndFeature()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapControllers(),
            services: services => services.AddControllers().AddApplicationPart(typeof(RequestArenaHttpContextExtensionsTests).Assembly));

        Assert.Equal("true", await host.Client.GetStringAsync("/mvc/same"));
        Assert.Equal("true", await host.Client.GetStringAsync("/mvc/same"));

        // And a different allocator for each request.
        Assert.Equal(2, host.Probe.Allocators.Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public async Task GetRequestArena_ConcurrentRequests_EachGetsItsOwnAllocator()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int arrived = 0;
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/", async (HttpContext context, Probe probe) =>
        {
            probe.Allocators.Enqueue(context.GetRequestArena());
            if (Interlocked.Increment(ref arrived) == 8)
            {
                gate.SetResult();
            }

            await gate.Task.WaitAsync(TimeSpan.FromSeconds(10));
            return "ok";
        }));

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => host.Client.GetStringAsync("/")));

        Assert.Equal(8, host.Probe.Allocators.Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public async Task GetRequestArena_WithoutUseRequestArena_ThrowsSayingWhatToAdd()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app => app.MapGet("/", (HttpContext context) => DisabledArenaController.TryGetArena(context)));

        string message = await host.Client.GetStringAsync("/");

        Assert.Contains("UseRequestArena()", message);
    }

    [Fact]
    public async Task GetRequestArena_InMiddlewareBeforeUseRequestArena_Throws()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                app.Use((context, next) =>
                {
                    context.RequestServices.GetRequiredService<Probe>().Notes.Enqueue(DisabledArenaController.TryGetArena(context));
                    return next(context);
                });
                app.UseRouting();
                app.UseRequestArena();
                app.MapGet("/", (HttpContext context) => DisabledArenaController.TryGetArena(context));
            });

        Assert.Equal("arena", await host.Client.GetStringAsync("/"));

        Assert.Contains("no arena", Assert.Single(host.Probe.Notes));
    }

    [Fact]
    public void GetRequestArena_ContextWithoutFeature_ThrowsInvalidOperation()
    {
        var context = new DefaultHttpContext();

        var ex = Assert.Throws<InvalidOperationException>(() => context.GetRequestArena());

        Assert.Contains("AddRequestArena()", ex.Message);
    }

    [Fact]
    public void GetRequestArena_NullContext_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => RequestArenaHttpContextExtensions.GetRequestArena(null!));
    }

    [Fact]
    public async Task GetRequestArena_ReturnsObjectThatIsNotDisposable()
    {
        // The request's DI scope disposes IDisposable scoped services; the arena's lifetime must stay the middleware's.
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/", (HttpContext context) => context.GetRequestArena() is IDisposable or IAsyncDisposable));

        Assert.Equal("false", await host.Client.GetStringAsync("/"));
    }
}
