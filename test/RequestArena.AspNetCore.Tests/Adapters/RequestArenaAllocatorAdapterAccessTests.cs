using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RequestArena.AspNetCore.Tests.Adapters;

// RequestArenaAllocator.GetOrRentArena as the adapters use it, on a host with the adapters registered.
public sealed class RequestArenaAllocatorAdapterAccessTests
{
    [Fact]
    public async Task GetOrRentArena_ReturnsTheArenaTheHandleAllocatesFrom()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/arena", (HttpContext context) =>
        {
            var handle = (RequestArenaAllocator)context.GetRequestArena();
            bool rentedBefore = handle.HasArena;
            Arena arena = handle.GetOrRentArena();
            arena.AllocateMemory(100);
            return $"{rentedBefore} {handle.HasArena} {ReferenceEquals(arena, handle.GetOrRentArena())} {handle.AllocatedBytes}";
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
            handle.GetOrRentArena();
            captured.Set(handle);
            return "ok";
        }));

        await host.Client.GetStringAsync("/late");
        RequestArenaAllocator handle = await captured.Task;

        await Released.WaitUntilAsync(() => handle.IsReleased, "the handle is released");
        Assert.Throws<ObjectDisposedException>(() => handle.GetOrRentArena());
    }
}
