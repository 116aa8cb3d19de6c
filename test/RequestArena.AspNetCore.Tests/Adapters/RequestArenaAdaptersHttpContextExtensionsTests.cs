using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RequestArena.Adapters;

namespace RequestArena.AspNetCore.Tests.Adapters;

public sealed class RequestArenaAdaptersHttpContextExtensionsTests
{
    [Fact]
    public async Task Extensions_WorkWithTheMiddlewareAlone()
    {
        await using var host = await AdapterTestHost.StartAsync(
            app => app.MapGet("/plain", (HttpContext context) =>
            {
                BidiBlock block = context.GetBidiAllocator().AllocateUtf8String("hello");
                Memory<byte> rpc = context.GetRpcScopeEnvironment().Allocate(8, out RpcStatus status);
                SlabProviderStatus ndis = context.GetNdisMemoryAllocator().AllocateMemory(out _, 64, NdisMemoryFlags.NonCached);
                return $"{block.ReadUtf8String()} {status} {rpc.Length} {ndis}";
            }),
            addAdapters: false);

        Assert.Equal("hello Ok 8 Success", await host.Client.GetStringAsync("/plain"));
    }

    [Fact]
    public async Task Extensions_ReturnTheSameObjectEachTimeInARequest()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/again", (HttpContext context) =>
            ReferenceEquals(context.GetBidiAllocator(), context.GetBidiAllocator())
            && ReferenceEquals(context.GetRpcScopeEnvironment(), context.GetRpcScopeEnvironment())
            && ReferenceEquals(context.GetNdisMemoryAllocator(), context.GetNdisMemoryAllocator())));

        Assert.Equal("true", await host.Client.GetStringAsync("/again"));
    }

    [Fact]
    public async Task Extensions_OnAnEndpointWithTheArenaDisabled_ThrowInvalidOperation()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/off", (HttpContext context) =>
        {
            var bidi = Assert.Throws<InvalidOperationException>(() => context.GetBidiAllocator());
            Assert.Throws<InvalidOperationException>(() => context.GetRpcScopeEnvironment());
            Assert.Throws<InvalidOperationException>(() => context.GetNdisMemoryAllocator());
            return bidi.Message;
        }).DisableRequestArena());

        Assert.Contains("disabled", await host.Client.GetStringAsync("/off"));
    }

    [Fact]
    public void Extensions_WithoutTheMiddleware_ThrowInvalidOperation()
    {
        var context = new DefaultHttpContext();

        Assert.Throws<InvalidOperationException>(() => context.GetBidiAllocator());
        Assert.Throws<InvalidOperationException>(() => context.GetRpcScopeEnvironment());
        Assert.Throws<InvalidOperationException>(() => context.GetNdisMemoryAllocator());
    }

    [Fact]
    public void Extensions_NullContext_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => RequestArenaAdaptersHttpContextExtensions.GetBidiAllocator(null!));
        Assert.Throws<ArgumentNullException>(() => RequestArenaAdaptersHttpContextExtensions.GetRpcScopeEnvironment(null!));
        Assert.Throws<ArgumentNullException>(() => RequestArenaAdaptersHttpContextExtensions.GetNdisMemoryAllocator(null!));
    }
}
