using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaAttributeTests
{
    [Fact]
    public void MaxBytes_Negative_Throws()
    {
        var attribute = new RequestArenaAttribute();

        Assert.Throws<ArgumentOutOfRangeException>(() => attribute.MaxBytes = -1);
        Assert.Equal(0, attribute.MaxBytes);
    }

    [Fact]
    public async Task OnController_LimitsItsActions()
    {
        await using var host = await StartMvcAsync();

        Assert.Equal("4096", await host.Client.GetStringAsync("/mvc/class-limit/4096"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.Client.GetAsync("/mvc/class-limit/4097")).StatusCode);
    }

    [Fact]
    public async Task OnAction_WinsOverControllerAttribute()
    {
        await using var host = await StartMvcAsync();

        Assert.Equal("50000", await host.Client.GetStringAsync("/mvc/action-limit/50000"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.Client.GetAsync("/mvc/action-limit/100001")).StatusCode);
    }

    [Fact]
    public async Task OnMinimalApiHandler_LimitsTheEndpoint()
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
            app.MapGet("/alloc/{bytes:int}", [RequestArena(MaxBytes = 10)] (int bytes, IModuleAllocator arena) => arena.AllocateMemory(bytes).Length));

        Assert.Equal("10", await host.Client.GetStringAsync("/alloc/10"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.Client.GetAsync("/alloc/11")).StatusCode);
    }

    private static Task<ArenaTestHost> StartMvcAsync() => ArenaTestHost.StartAsync(
        app => app.MapControllers(),
        services: services => services.AddControllers().AddApplicationPart(typeof(RequestArenaAttributeTests).Assembly));
}
