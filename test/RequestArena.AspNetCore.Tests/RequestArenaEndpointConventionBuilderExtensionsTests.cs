using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaEndpointConventionBuilderExtensionsTests
{
    [Fact]
    public async Task WithRequestArena_ReplacesGlobalLimitForThatEndpoint()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app =>
            {
                app.MapGet("/global/{bytes:int}", Allocate);
                app.MapGet("/raised/{bytes:int}", Allocate).WithRequestArena(10_000);
                app.MapGet("/lowered/{bytes:int}", Allocate).WithRequestArena(10);
            },
            options => options.MaxBytesPerRequest = 100);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(host, "/global/5000"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(host, "/raised/5000"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(host, "/raised/10001"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(host, "/lowered/11"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(host, "/lowered/10"));
    }

    [Fact]
    public async Task WithRequestArena_Zero_MeansUnlimited()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/alloc/{bytes:int}", Allocate).WithRequestArena(0),
            options => options.MaxBytesPerRequest = 100);

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(host, "/alloc/200000"));
    }

    [Fact]
    public async Task WithRequestArena_OnRouteGroup_AppliesToItsEndpoints()
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            RouteGroupBuilder group = app.MapGroup("/small").WithRequestArena(64);
            group.MapGet("/{bytes:int}", Allocate);
        });

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(host, "/small/64"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(host, "/small/65"));
    }

    [Fact]
    public async Task WithRequestArena_Negative_Throws()
    {
        await using WebApplication app = WebApplication.CreateSlimBuilder().Build();
        RouteHandlerBuilder endpoint = app.MapGet("/", () => "x");

        Assert.Throws<ArgumentOutOfRangeException>(() => endpoint.WithRequestArena(-1));
        Assert.Null(EndpointsOf(app).Single().Metadata.GetMetadata<RequestArenaAttribute>());
    }

    [Fact]
    public async Task WithRequestArena_AddsRequestArenaMetadata()
    {
        await using WebApplication app = WebApplication.CreateSlimBuilder().Build();

        app.MapGet("/", () => "x").WithRequestArena(4096);

        Assert.Equal(4096, EndpointsOf(app).Single().Metadata.GetMetadata<RequestArenaAttribute>()?.MaxBytes);
    }

    [Fact]
    public async Task DisableRequestArena_GetRequestArenaThrowsSayingDisabled()
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
            app.MapGet("/off", (HttpContext context) => DisabledArenaController.TryGetArena(context)).DisableRequestArena());

        string message = await host.Client.GetStringAsync("/off");

        Assert.Contains("disabled", message);
        Assert.Contains("/off", message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisableRequestArena_WithLimitOnSameEndpoint_DisableWinsInEitherOrder(bool disableFirst)
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            RouteHandlerBuilder endpoint = app.MapGet("/both", (HttpContext context) => DisabledArenaController.TryGetArena(context));
            if (disableFirst)
            {
                endpoint.DisableRequestArena().WithRequestArena(1000);
            }
            else
            {
                endpoint.WithRequestArena(1000).DisableRequestArena();
            }
        });

        Assert.Contains("disabled", await host.Client.GetStringAsync("/both"));
    }

    [Fact]
    public async Task DisableRequestArena_OnGroup_WinsOverEndpointLimit()
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            RouteGroupBuilder group = app.MapGroup("/g").DisableRequestArena();
            group.MapGet("/x", (HttpContext context) => DisabledArenaController.TryGetArena(context)).WithRequestArena(1000);
        });

        Assert.Contains("disabled", await host.Client.GetStringAsync("/g/x"));
    }

    [Fact]
    public async Task DisableRequestArena_InjectedAllocator_FailsTheRequest()
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
            app.MapGet("/off", (IModuleAllocator arena) => arena.AllocateMemory(1).Length).DisableRequestArena());

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.Client.GetAsync("/off"));

        Assert.Contains("disabled", ex.Message);
    }

    [Fact]
    public async Task DisableRequestArena_AddsDisableMetadata()
    {
        await using WebApplication app = WebApplication.CreateSlimBuilder().Build();

        app.MapGet("/", () => "x").DisableRequestArena();

        Assert.NotNull(EndpointsOf(app).Single().Metadata.GetMetadata<DisableRequestArenaAttribute>());
    }

    private static int Allocate(int bytes, IModuleAllocator arena) => arena.AllocateMemory(bytes).Length;

    private static async Task<HttpStatusCode> StatusAsync(ArenaTestHost host, string path) => (await host.Client.GetAsync(path)).StatusCode;

    private static IEnumerable<Endpoint> EndpointsOf(IEndpointRouteBuilder app) => app.DataSources.SelectMany(source => source.Endpoints);
}
