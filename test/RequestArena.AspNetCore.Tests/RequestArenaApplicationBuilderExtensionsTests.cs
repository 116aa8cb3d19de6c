using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaApplicationBuilderExtensionsTests
{
    [Fact]
    public async Task UseRequestArena_WithoutAddRequestArena_FailsAtStartupSayingWhatToAdd()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => ArenaTestHost.StartCustomAsync(
            services => { },
            app => app.UseRequestArena()));

        Assert.Contains("AddRequestArena()", ex.Message);
    }

    [Fact]
    public async Task UseRequestArena_BeforeUseRouting_LogsOrderWarningOnce()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                app.UseRequestArena();
                app.UseRouting();
                app.MapGet("/", () => "ok");
            });

        await host.Client.GetStringAsync("/");
        await host.Client.GetStringAsync("/");

        var warning = Assert.Single(host.Logs.ForEvent(4));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("after app.UseRouting()", warning.Message);
    }

    [Fact]
    public async Task UseRequestArena_BeforeUseRouting_EndpointLimitStillAppliesToArenaFirstUsedInEndpoint()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                app.UseRequestArena();
                app.UseRouting();
                app.MapGet("/alloc/{bytes:int}", (int bytes, IModuleAllocator arena) => arena.AllocateMemory(bytes).Length).WithRequestArena(100);
            });

        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/alloc/100")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.Client.GetAsync("/alloc/101")).StatusCode);
    }

    [Fact]
    public async Task UseRequestArena_AfterUseRouting_NoOrderWarning()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/", () => "ok"));

        await host.Client.GetStringAsync("/");

        Assert.Empty(host.Logs.ForEvent(4));
    }

    [Fact]
    public async Task UseRequestArena_WithImplicitRouting_NoOrderWarning()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                // WebApplication adds UseRouting() at the start of the pipeline itself.
                app.UseRequestArena();
                app.MapGet("/", () => "ok");
            });

        await host.Client.GetStringAsync("/");
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/missing")).StatusCode);

        Assert.Empty(host.Logs.ForEvent(4));
    }

    [Fact]
    public async Task UseRequestArena_WithImplicitRoutingAndStatusCodePagesReExecutingInside_NoOrderWarning()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                // The re-executed pass routes /status/404 itself, inside the arena middleware.
                app.UseRequestArena();
                app.UseStatusCodePagesWithReExecute("/status/{0}");
                app.MapGet("/status/{code:int}", (int code) => $"status {code}");
            });

        HttpResponseMessage response = await host.Client.GetAsync("/missing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("status 404", await response.Content.ReadAsStringAsync());
        Assert.Empty(host.Logs.ForEvent(4));
    }

    [Fact]
    public async Task UseRequestArena_CalledTwice_AddsTheMiddlewareOnce()
    {
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(),
            app =>
            {
                app.UseRouting();
                app.UseRequestArena();
                app.Use((context, next) =>
                {
                    context.RequestServices.GetRequiredService<Probe>().Allocators.Enqueue(context.GetRequestArena());
                    return next(context);
                });
                app.UseRequestArena();
                app.MapGet("/", (HttpContext context, Probe probe) => ReferenceEquals(probe.Allocators.Single(), context.GetRequestArena()));
            });

        // A nested second middleware would have given the endpoint an allocator of its own.
        Assert.Equal("true", await host.Client.GetStringAsync("/"));
    }

    [Fact]
    public void UseRequestArena_NullApp_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => RequestArenaApplicationBuilderExtensions.UseRequestArena(null!));
    }
}
