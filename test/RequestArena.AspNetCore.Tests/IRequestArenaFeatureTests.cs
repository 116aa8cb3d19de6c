using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests;

public sealed class IRequestArenaFeatureTests
{
    [Fact]
    public async Task Feature_DuringRequest_AllocatorIsSameOnEveryRead()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/", (HttpContext context) =>
        {
            IRequestArenaFeature feature = context.Features.GetRequiredFeature<IRequestArenaFeature>();
            return ReferenceEquals(feature.Allocator, feature.Allocator);
        }));

        Assert.Equal("true", await host.Client.GetStringAsync("/"));
    }

    [Fact]
    public async Task Feature_AllocatorReadWithoutAllocating_RentsNoArena()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/", (HttpContext context) =>
            context.Features.GetRequiredFeature<IRequestArenaFeature>().Allocator is not null));

        Assert.Equal("true", await host.Client.GetStringAsync("/"));

        Assert.Equal(0, host.Statistics.GetSnapshot().Pool.SlabsRented);
        Assert.Equal(0, host.Statistics.GetSnapshot().Requests);
    }

    [Fact]
    public async Task Feature_Allocator_AllocatesFromTheRequestArena()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/", (HttpContext context) =>
        {
            Memory<byte> memory = context.Features.GetRequiredFeature<IRequestArenaFeature>().Allocator.AllocateMemory(300);
            memory.Span.Fill(1);
            return memory.Length;
        }));

        Assert.Equal("300", await host.Client.GetStringAsync("/"));
        await host.WaitForReleasesAsync(1);
        Assert.Equal(1, host.Statistics.GetSnapshot().Requests);
        Assert.Equal(300, host.Statistics.GetSnapshot().TotalBytes);
    }

    [Fact]
    public async Task Feature_OnDisabledEndpoint_PresentButAllocatorThrows()
    {
        await using var host = await ArenaTestHost.StartAsync(app => app.MapGet("/", (HttpContext context) =>
        {
            IRequestArenaFeature? feature = context.Features.Get<IRequestArenaFeature>();
            try
            {
                _ = feature!.Allocator;
                return "allocator";
            }
            catch (InvalidOperationException ex)
            {
                return ex.Message;
            }
        }).DisableRequestArena());

        Assert.Contains("disabled", await host.Client.GetStringAsync("/"));
    }

    [Fact]
    public void Allocator_AfterTheRequestLeft_ThrowsAndTouchesNothingOnTheContext()
    {
        using ServiceProvider services = new ServiceCollection().AddRequestArena().BuildServiceProvider();
        var context = new DefaultHttpContext();
        var feature = new RequestArenaFeature(context, services.GetRequiredService<RequestArenaRuntime>());

        Assert.Null(feature.Leave());

        Assert.Throws<ObjectDisposedException>(() => feature.Allocator);
        Assert.Null(context.Features.Get<RequestArenaAllocator>());
    }

    [Fact]
    public void Allocator_UsedBeforeTheRequestLeft_KeptFeatureRefusesAfterwards()
    {
        using ServiceProvider services = new ServiceCollection().AddRequestArena().BuildServiceProvider();
        var context = new DefaultHttpContext();
        var feature = new RequestArenaFeature(context, services.GetRequiredService<RequestArenaRuntime>());
        IModuleAllocator allocator = feature.Allocator;

        Assert.Same(allocator, feature.Leave());

        Assert.Throws<ObjectDisposedException>(() => feature.Allocator);
        Assert.Same(allocator, context.Features.Get<RequestArenaAllocator>());
    }

    // First use on other threads (fire-and-forget work started by the handler) racing the middleware's exit: either the
    // use is refused and the context is left untouched, or the allocator was made before the exit and the exit gets it
    // (so the middleware takes it out of the pipeline and the request's completion releases it). Never an allocator
    // set on the context behind the exit's back: the server may already serve the connection's next request with it.
    [Fact]
    public async Task Leave_RacingFirstUseOnOtherThreads_EveryAllocatorMadeIsHandedToTheExit()
    {
        using ServiceProvider services = new ServiceCollection().AddRequestArena().BuildServiceProvider();
        RequestArenaRuntime runtime = services.GetRequiredService<RequestArenaRuntime>();
        int refused = 0;
        int made = 0;
        for (int trial = 0; trial < 2000; trial++)
        {
            var context = new DefaultHttpContext();
            var feature = new RequestArenaFeature(context, runtime);
            using var start = new Barrier(3);
            var users = new Task<IModuleAllocator?>[2];
            for (int i = 0; i < users.Length; i++)
            {
                users[i] = Task.Factory.StartNew(() =>
                {
                    start.SignalAndWait();
                    try
                    {
                        return feature.Allocator;
                    }
                    catch (ObjectDisposedException)
                    {
                        return null;
                    }
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }

            start.SignalAndWait();
            RequestArenaAllocator? atExit = feature.Leave();
            IModuleAllocator?[] seen = await Task.WhenAll(users);

            RequestArenaAllocator? onContext = context.Features.Get<RequestArenaAllocator>();
            Assert.Same(atExit, onContext);
            foreach (IModuleAllocator? allocator in seen)
            {
                if (allocator is null)
                {
                    refused++;
                }
                else
                {
                    made++;
                    Assert.Same(atExit, allocator);
                }
            }
        }

        Assert.True(refused + made == 4000, $"{refused} refused, {made} made");
    }
}
