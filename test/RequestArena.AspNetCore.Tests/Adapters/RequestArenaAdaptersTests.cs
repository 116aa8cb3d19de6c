using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RequestArena.Adapters;
using RequestArena.AspNetCore.Adapters;

namespace RequestArena.AspNetCore.Tests.Adapters;

// Lifetime of the per-request adapters: created on first use only, released with the request's arena.
public sealed class RequestArenaAdaptersTests
{
    private sealed record Used(BidiAllocator Bidi, BidiBlock Block, RpcScopeEnvironment Rpc, Memory<byte> RpcMemory, NdisMemoryAllocator Ndis, Memory<byte> Native);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Adapters_AreReleasedWhenTheRequestCompletes(bool kestrel)
    {
        var captured = new Captured<Used>();
        await using var host = await AdapterTestHost.StartAsync(
            app => app.MapGet("/use", (BidiAllocator bidi, RpcScopeEnvironment rpc, NdisMemoryAllocator ndis) =>
            {
                BidiBlock block = bidi.Allocate(64);
                Memory<byte> rpcMemory = rpc.Allocate(64, out _);
                ndis.AllocateMemory(out Memory<byte> native, 4096, NdisMemoryFlags.NonCached);
                captured.Set(new Used(bidi, block, rpc, rpcMemory, ndis, native));
                return "used";
            }),
            kestrel: kestrel);

        Assert.Equal("used", await host.Client.GetStringAsync("/use"));
        Used used = await captured.Task;

        // Not the adapters' flags: each is set as its adapter's release begins, and the arena's memory dies only after
        // every adapter has been released. The request is recorded once all of that is done.
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 1, "the request's arena is released");
        Assert.True(used.Bidi.IsDisposed && used.Rpc.IsReleased && used.Ndis.IsDisposed);
        BidiAllocator.SetLastError(Win32Error.Success);
        Assert.False(used.Bidi.Free(used.Block));
        Assert.Equal(Win32Error.InvalidParameter, BidiAllocator.GetLastError());
        Assert.Equal(RpcStatus.NoEnvironment, used.Rpc.Free(used.RpcMemory));
        Assert.Equal(0, used.Ndis.NativeBytesInUse);
        Assert.Throws<ObjectDisposedException>(() => used.Block.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => used.RpcMemory.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => used.Native.Span.Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Adapters_AreReleasedAtOnceWhenTheEndpointFails(bool kestrel)
    {
        var captured = new Captured<Used>();
        await using var host = await AdapterTestHost.StartAsync(
            app => app.MapGet("/fail", string (BidiAllocator bidi, RpcScopeEnvironment rpc, NdisMemoryAllocator ndis) =>
            {
                BidiBlock block = bidi.Allocate(64);
                Memory<byte> rpcMemory = rpc.Allocate(64, out _);
                ndis.AllocateMemory(out Memory<byte> native, 4096, NdisMemoryFlags.NonCached);
                captured.Set(new Used(bidi, block, rpc, rpcMemory, ndis, native));
                throw new InvalidOperationException("endpoint failed");
            }),
            kestrel: kestrel);

        // TestServer hands the endpoint's exception to the client; Kestrel answers 500.
        if (kestrel)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, (await host.Client.GetAsync("/fail")).StatusCode);
        }
        else
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => host.Client.GetAsync("/fail"));
        }

        Used used = await captured.Task;
        await Released.WaitUntilAsync(() => used.Bidi.IsDisposed && used.Rpc.IsReleased && used.Ndis.IsDisposed, "the adapters are released");
        Assert.Equal(0, used.Ndis.NativeBytesInUse);
        Assert.Throws<ObjectDisposedException>(() => used.Native.Span.Length);
    }

    [Fact]
    public async Task ARequestThatUsesNoAdapter_CreatesNothing()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/idle", (HttpContext context) =>
        {
            var feature = (RequestArenaFeature)context.Features.Get<IRequestArenaFeature>()!;
            return context.Features.Get<RequestArenaAdapters>() is null && feature.CurrentAllocator is null;
        }));

        Assert.Equal("true", await host.Client.GetStringAsync("/idle"));
        Assert.Equal("true", await host.Client.GetStringAsync("/idle"));
    }

    [Fact]
    public async Task UsingOneAdapter_CreatesOnlyThatOne()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/one", (HttpContext context) =>
        {
            context.GetBidiAllocator().Allocate(16);
            RequestArenaAdapters adapters = context.Features.Get<RequestArenaAdapters>()!;
            return adapters is not null;
        }));

        Assert.Equal("true", await host.Client.GetStringAsync("/one"));
    }

    [Fact]
    public async Task AdapterMemory_CountsAgainstTheEndpointsQuota()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/quota", (BidiAllocator bidi, NdisMemoryAllocator ndis, IModuleAllocator arena) =>
        {
            BidiAllocator.SetLastError(Win32Error.Success);
            bool bidiRefused = bidi.Allocate(4096).IsEmpty;
            Win32Error error = BidiAllocator.GetLastError();
            SlabProviderStatus native = ndis.AllocateMemory(out _, 4096, NdisMemoryFlags.NonCached);
            BidiBlock small = bidi.Allocate(100);
            return $"{bidiRefused} {error} {native} {small.Length}";
        }).WithRequestArena(maxBytes: 1024));

        // No exception escaped, so the request succeeds: the adapters report the quota as statuses.
        Assert.Equal("True NotEnoughMemory Failure 100", await host.Client.GetStringAsync("/quota"));
    }

    [Fact]
    public async Task AdapterAllocations_AreCountedInTheRequestsArena()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/count", (HttpContext context, BidiAllocator bidi) =>
        {
            bidi.Allocate(1000);
            var allocator = (RequestArenaAllocator)context.GetRequestArena();
            return allocator.AllocatedBytes;
        }));

        // The bidi block is rounded up to its size class (1024).
        Assert.Equal("1024", await host.Client.GetStringAsync("/count"));
    }

    [Fact]
    public async Task BidiFreeAcrossRequests_IsRefused()
    {
        var first = new Captured<Used>();
        await using var host = await AdapterTestHost.StartAsync(app =>
        {
            app.MapGet("/first", (BidiAllocator bidi) =>
            {
                first.Set(new Used(bidi, bidi.Allocate(32), null!, default, null!, default));
                return "ok";
            });
            app.MapGet("/second", async (BidiAllocator bidi) =>
            {
                Used earlier = await first.Task;
                BidiAllocator.SetLastError(Win32Error.Success);
                bool freed = bidi.Free(earlier.Block);
                return $"{freed} {BidiAllocator.GetLastError()}";
            });
        });

        await host.Client.GetStringAsync("/first");

        Assert.Equal("False InvalidParameter", await host.Client.GetStringAsync("/second"));
    }
}
