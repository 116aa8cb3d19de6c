using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RequestArena.AspNetCore.Tests;

namespace RequestArena.Pipelines.Tests;

public sealed class RequestArenaPipelinesHttpContextExtensionsTests
{
    [Fact]
    public async Task GetRequestPipelinesArena_WithoutMiddleware_ThrowsInvalidOperation()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app => app.MapGet("/none", (HttpContext context) => Message(() => context.GetRequestPipelinesArena())));

        Assert.Equal("InvalidOperationException", await host.Client.GetStringAsync("/none"));
    }

    [Fact]
    public async Task GetRequestPipelinesArena_DisabledEndpoint_ThrowsInvalidOperation()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/off", (HttpContext context) => Message(() => context.GetRequestPipelinesArena())).DisableRequestArena());

        Assert.Equal("InvalidOperationException", await host.Client.GetStringAsync("/off"));
    }

    [Fact]
    public async Task GetRequestPipelinesArena_WithoutDi_SameArenaWithinRequest()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/twice", (HttpContext context) =>
                ReferenceEquals(context.GetRequestPipelinesArena(), context.GetRequestPipelinesArena()) ? "same" : "different"));

        Assert.Equal("same", await host.Client.GetStringAsync("/twice"));
    }

    [Fact]
    public void GetRequestPipelinesArena_NullContext_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => RequestArenaPipelinesHttpContextExtensions.GetRequestPipelinesArena(null!));
    }

    private static string Message(Action action)
    {
        try
        {
            action();
            return "no exception";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }
}
