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
        Assert.Equal(ServiceLifetime.Scoped, services.Single(d => d.ServiceType == typeof(PipelinesArena)).Lifetime);
        await Task.CompletedTask;
    }

    [Fact]
    public void AddRequestArenaPipelines_NullServices_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => RequestArenaPipelinesServiceCollectionExtensions.AddRequestArenaPipelines(null!));
    }
}
