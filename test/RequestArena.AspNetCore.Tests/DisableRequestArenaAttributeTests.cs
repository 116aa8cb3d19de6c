using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests;

public sealed class DisableRequestArenaAttributeTests
{
    [Fact]
    public async Task OnAction_WinsOverControllerLimit()
    {
        await using var host = await StartMvcAsync();

        string message = await host.Client.GetStringAsync("/mvc-disabled/action");

        Assert.Contains("disabled", message);
        Assert.Contains("DisabledAction", message);
    }

    [Fact]
    public async Task OnController_WinsOverActionLimit()
    {
        await using var host = await StartMvcAsync();

        Assert.Contains("disabled", await host.Client.GetStringAsync("/mvc-class-disabled"));
    }

    [Fact]
    public async Task OnOtherAction_LeavesSiblingActionsEnabled()
    {
        await using var host = await StartMvcAsync();

        Assert.Equal("arena", await host.Client.GetStringAsync("/mvc-disabled/limited"));
    }

    [Fact]
    public async Task OnMinimalApiHandler_DisablesTheEndpoint()
    {
        await using var host = await ArenaTestHost.StartAsync(app =>
            app.MapGet("/", [DisableRequestArena] (HttpContext context) => DisabledArenaController.TryGetArena(context)));

        Assert.Contains("disabled", await host.Client.GetStringAsync("/"));
    }

    private static Task<ArenaTestHost> StartMvcAsync() => ArenaTestHost.StartAsync(
        app => app.MapControllers(),
        services: services => services.AddControllers().AddApplicationPart(typeof(DisableRequestArenaAttributeTests).Assembly));
}
