using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RequestArena.AspNetCore.Tests;
using PipelinesArena = Pipelines.Sockets.Unofficial.Arenas.Arena;

namespace RequestArena.Pipelines.Tests;

public sealed class RequestArenaPipelinesServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddRequestArenaPipelines_Injected_SameAsHttpContextAndDistinctPerRequest()
    {
        var seen = new ConcurrentQueue<PipelinesArena>();
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/same", (HttpContext context, PipelinesArena injected, [Microsoft.AspNetCore.Mvc.FromServices] IServiceProvider services) =>
            {
                seen.Enqueue(injected);
                bool same = ReferenceEquals(injected, context.GetRequestPipelinesArena())
                    && ReferenceEquals(injected, services.GetRequiredService<PipelinesArena>());
                return same ? "same" : "different";
            }),
            services: s => s.AddRequestArenaPipelines());

        Assert.Equal("same", await host.Client.GetStringAsync("/same"));
        Assert.Equal("same", await host.Client.GetStringAsync("/same"));

        Assert.Equal(2, seen.Distinct().Count());
    }

    // The endpoint fails, which releases the request's arena (and the Pipelines arena's blocks) at once;
    // UseExceptionHandler re-executes the pipeline on the same request and DI scope. The error page gets a new
    // Pipelines arena, the same from DI and the extension, whose memory is zeroed and usable.
    [Fact]
    public async Task AddRequestArenaPipelines_PipelineReExecutedAfterAFailure_InjectedArenaIsNewAndWorks()
    {
        PipelinesArena? first = null;
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena().AddRequestArenaPipelines(),
            app =>
            {
                app.UseExceptionHandler("/error");
                app.UseRouting();
                app.UseRequestArena();
                app.MapGet("/fails", (PipelinesArena arena) =>
                {
                    first = arena;
                    arena.Allocate<byte>(100).FirstSpan.Fill(0x5A);
                    throw new InvalidOperationException("boom");
                });
                app.Map("/error", (HttpContext context, PipelinesArena arena) =>
                {
                    bool same = ReferenceEquals(arena, context.GetRequestPipelinesArena());
                    var sequence = arena.Allocate<byte>(100);
                    bool zeroed = sequence.FirstSpan.IndexOfAnyExcept((byte)0) < 0;
                    sequence.FirstSpan.Fill(1);
                    return Results.Text($"new {!ReferenceEquals(arena, first)}, same {same}, zeroed {zeroed}", statusCode: 500);
                });
            });

        HttpResponseMessage response = await host.Client.GetAsync("/fails");

        Assert.Equal("new True, same True, zeroed True", await response.Content.ReadAsStringAsync());
    }

    // The root provider would keep every request's Pipelines arena until shutdown; a scope of the handler's own would
    // dispose the request's arena with it. Both are refused, and the request's arena lives on.
    [Fact]
    public async Task AddRequestArenaPipelines_ResolvedFromTheRootOrAChildScopeInARequest_ThrowsAndTheRequestsArenaLives()
    {
        IServiceProvider? root = null;
        await using var host = await ArenaTestHost.StartAsync(
            app =>
            {
                root = app.Services;
                app.MapGet("/scopes", (HttpContext context, PipelinesArena arena) =>
                {
                    arena.Allocate<byte>(16);
                    ResolutionAssert.RefusedOutsideTheRequestsServices<PipelinesArena>(root!, context);
                    Assert.Same(arena, context.GetRequestPipelinesArena());
                    return arena.Allocate<byte>(16).Length;
                });
            },
            services: s => s.AddRequestArenaPipelines());

        Assert.Equal("16", await host.Client.GetStringAsync("/scopes"));
    }

    // Autofac wraps the request's lifetime scope in provider objects of its own: the arena still resolves there.
    [Fact]
    public async Task AddRequestArenaPipelines_UnderAutofac_InjectsTheRequestsArenaAndStillRefusesOtherScopes()
    {
        IServiceProvider? root = null;
        await using var host = await ArenaTestHost.StartUnderAutofacAsync(
            services => services.AddRequestArena().AddRequestArenaPipelines(),
            app =>
            {
                root = app.Services;
                app.MapGet("/", (HttpContext context, PipelinesArena arena) =>
                {
                    ResolutionAssert.RefusedOutsideTheRequestsServices<PipelinesArena>(root!, context);
                    Assert.Same(arena, context.GetRequestPipelinesArena());
                    return arena.Allocate<byte>(16).Length;
                });
            });

        Assert.Equal("16", await host.Client.GetStringAsync("/"));
    }

    [Fact]
    public async Task AddRequestArenaPipelines_ResolvedOutsideRequest_Throws()
    {
        await using var host = await ArenaTestHost.StartAsync(_ => { }, services: s => s.AddRequestArenaPipelines());
        using IServiceScope scope = host.Services.CreateScope();

        var error = Assert.Throws<InvalidOperationException>(() => scope.ServiceProvider.GetRequiredService<PipelinesArena>());
        Assert.Contains("no request is running", error.Message);
    }

    [Fact]
    public async Task AddRequestArenaPipelines_CalledTwice_RegistersOnce()
    {
        var services = new ServiceCollection();
        services.AddRequestArenaPipelines().AddRequestArenaPipelines();

        Assert.Single(services, d => d.ServiceType == typeof(PipelinesArena));
        Assert.Equal(ServiceLifetime.Transient, services.Single(d => d.ServiceType == typeof(PipelinesArena)).Lifetime);
        await Task.CompletedTask;
    }

    [Fact]
    public void AddRequestArenaPipelines_NullServices_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => RequestArenaPipelinesServiceCollectionExtensions.AddRequestArenaPipelines(null!));
    }
}
