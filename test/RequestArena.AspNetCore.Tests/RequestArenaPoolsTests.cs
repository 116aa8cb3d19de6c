using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaPoolsTests
{
    // The container stops disposing singletons at the first that throws: a failing provider at shutdown would leave every
    // singleton created before the pools (the server, the logger factory, the application's own) undisposed.
    [Fact]
    public async Task Dispose_SlabProviderFreeThrowsAtShutdown_LoggedAndTheHostDisposesEverythingElse()
    {
        var provider = new FailingFreeSlabProvider();
        DisposeTracker? tracker = null;
        ArenaTestHost host = await ArenaTestHost.StartAsync(
            app =>
            {
                // Created before the middleware creates the pools, so the container disposes it after them.
                tracker = app.Services.GetRequiredService<DisposeTracker>();
                app.MapGet("/", (IModuleAllocator arena) => arena.AllocateMemory(100).Length);
            },
            options => options.SlabProvider = provider,
            services: s => s.AddSingleton<DisposeTracker>());
        Assert.Equal("100", await host.Client.GetStringAsync("/"));
        await host.WaitForReleasesAsync(1);
        int freesBefore = provider.FreeCalls;

        Exception? thrown = await Record.ExceptionAsync(() => host.DisposeAsync().AsTask());

        Assert.Null(thrown);
        Assert.True(provider.FreeCalls > freesBefore);
        Assert.True(tracker!.Disposed);
        LogSink.LogEntry failure = Assert.Single(host.Logs.ForEvent(7));
        Assert.Equal("SlabPoolDisposeFailed", failure.EventId.Name);
        Assert.IsType<IOException>(failure.Exception);
    }

    private sealed class DisposeTracker : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }
}
