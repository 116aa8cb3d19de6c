using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RequestArena.AspNetCore.Adapters;

namespace RequestArena.AspNetCore.Tests.Adapters;

public sealed class RequestArenaAccessTests
{
    [Fact]
    public async Task GetOrRentArena_ReturnsTheArenaTheHandleAllocatesFrom()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/arena", (HttpContext context) =>
        {
            var handle = (RequestArenaAllocator)context.GetRequestArena();
            bool rentedBefore = handle.HasArena;
            Arena arena = RequestArenaAccess.GetOrRentArena(handle);
            arena.AllocateMemory(100);
            return $"{rentedBefore} {handle.HasArena} {ReferenceEquals(arena, RequestArenaAccess.GetOrRentArena(handle))} {handle.AllocatedBytes}";
        }));

        Assert.Equal("False True True 100", await host.Client.GetStringAsync("/arena"));
    }

    [Fact]
    public async Task GetOrRentArena_AfterTheRequest_ThrowsObjectDisposed()
    {
        var captured = new Captured<RequestArenaAllocator>();
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/late", (HttpContext context) =>
        {
            var handle = (RequestArenaAllocator)context.GetRequestArena();
            RequestArenaAccess.GetOrRentArena(handle);
            captured.Set(handle);
            return "ok";
        }));

        await host.Client.GetStringAsync("/late");
        RequestArenaAllocator handle = await captured.Task;

        Assert.True(await Captured<RequestArenaAllocator>.EventuallyAsync(() => handle.IsReleased));
        Assert.Throws<ObjectDisposedException>(() => RequestArenaAccess.GetOrRentArena(handle));
    }
}
