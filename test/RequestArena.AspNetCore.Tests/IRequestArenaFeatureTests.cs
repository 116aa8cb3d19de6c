using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

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
}
