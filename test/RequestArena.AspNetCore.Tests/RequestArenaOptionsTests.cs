using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RequestArena.AspNetCore.Tests;

public sealed class RequestArenaOptionsTests
{
    [Fact]
    public void Defaults_AreDocumentedValues()
    {
        var options = new RequestArenaOptions();

        Assert.Equal(0, options.MaxBytesPerRequest);
        Assert.Equal(64 * 1024, options.SlabSize);
        Assert.Equal(32L * 1024 * 1024, options.MaxRetainedBytes);
        Assert.Equal(TimeSpan.FromSeconds(10), options.TrimInterval);
        Assert.True(options.ZeroMemory);
        Assert.True(options.DetectUseAfterRelease);
        Assert.Equal(503, options.LimitExceededStatusCode);
    }

    [Theory]
    [InlineData("MaxBytesPerRequest", "MaxBytesPerRequest must be 0 (unlimited) or positive; it was -1.")]
    [InlineData("SlabSize", "SlabSize must be from 4096 to 16777216 bytes; it was 100.")]
    [InlineData("MaxRetainedBytes", "MaxRetainedBytes must be 0 or positive; it was -5.")]
    [InlineData("LimitExceededStatusCode", "LimitExceededStatusCode must be an HTTP error status from 400 to 599; it was 200.")]
    [InlineData("TrimInterval", "TrimInterval must be from 00:00:00.0010000 to 49.17:02:47.2940000, or Timeout.InfiniteTimeSpan; it was 00:00:00.0005000.")]
    public async Task Start_InvalidOption_FailsWithMessageNamingIt(string option, string expected)
    {
        Action<RequestArenaOptions> configure = option switch
        {
            "MaxBytesPerRequest" => o => o.MaxBytesPerRequest = -1,
            "SlabSize" => o => o.SlabSize = 100,
            "MaxRetainedBytes" => o => o.MaxRetainedBytes = -5,
            "TrimInterval" => o => o.TrimInterval = TimeSpan.FromTicks(5_000),
            _ => o => o.LimitExceededStatusCode = 200,
        };

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => ArenaTestHost.StartAsync(app => app.MapGet("/", () => "x"), configure));

        Assert.Contains("RequestArenaOptions." + expected, Assert.Single(ex.Failures));
    }

    [Fact]
    public async Task Start_SeveralInvalidOptions_ReportsEveryFailure()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => ArenaTestHost.StartAsync(
            app => app.MapGet("/", () => "x"),
            o =>
            {
                o.SlabSize = 0;
                o.LimitExceededStatusCode = 700;
            }));

        Assert.Equal(2, ex.Failures.Count());
    }

    [Fact]
    public async Task Start_InvalidOptionWithoutAnyRequest_StillFails()
    {
        // ValidateOnStart: the host refuses to start even though nothing has asked for the options yet.
        await Assert.ThrowsAsync<OptionsValidationException>(() => ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena(o => o.SlabSize = 1),
            app => app.MapGet("/", () => "no arena middleware here")));
    }

    [Fact]
    public async Task SlabSize_IsTheSlabSizeOfThePool()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/alloc/{bytes:int}", (int bytes, IModuleAllocator arena) => arena.AllocateMemory(bytes).Length),
            o => o.SlabSize = 4096);

        await host.Client.GetStringAsync("/alloc/100");
        await host.Client.GetStringAsync("/alloc/5000");
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 2, "both arenas are released");

        RequestArenaStatisticsSnapshot snapshot = host.Statistics.GetSnapshot();
        Assert.Equal(1, snapshot.Pool.PooledSlabs);
        Assert.Equal(1, snapshot.Pool.OversizeRented);

        // 5000 bytes is over a 4 KiB slab: the pool kept it as an 8 KiB oversize block for the next large request.
        Assert.Equal(1, snapshot.Pool.PooledOversizeBlocks);
        Assert.Equal(4096 + 8192, snapshot.Pool.PooledBytes);
    }

    [Fact]
    public async Task MaxRetainedBytes_Zero_PoolKeepsNothing()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/", (IModuleAllocator arena) => arena.AllocateMemory(100).Length),
            o => o.MaxRetainedBytes = 0);

        await host.Client.GetStringAsync("/");
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == 1, "the arena is released");

        Assert.Equal(0, host.Statistics.GetSnapshot().Pool.PooledBytes);
        Assert.Equal(1, host.Statistics.GetSnapshot().Pool.SlabsDropped);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    [InlineData(60_000)]
    public void TrimInterval_IsTheTrimIntervalOfThePool(int milliseconds)
    {
        using ServiceProvider services = new ServiceCollection()
            .AddRequestArena(o => o.TrimInterval = TimeSpan.FromMilliseconds(milliseconds))
            .BuildServiceProvider();

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), services.GetRequiredService<RequestArenaPools>().SlabPool.TrimInterval);
    }

    // A burst of concurrent requests grows the pool; once traffic stops, the trim timer gives every idle slab back.
    [Fact]
    public async Task TrimInterval_AfterABurst_IdlePoolGivesEverySlabBack()
    {
        const int Burst = 24;
        int arrived = 0;
        var allHere = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/hold", async (IModuleAllocator arena) =>
            {
                // Nearly a whole 4 KiB slab per request, held until the whole burst holds one: the pool must grow to it.
                int length = arena.AllocateMemory(4000).Length;
                if (Interlocked.Increment(ref arrived) == Burst)
                {
                    allHere.SetResult();
                }

                await allHere.Task.WaitAsync(TimeSpan.FromSeconds(30));
                return length;
            }),
            o =>
            {
                o.SlabSize = 4096;
                o.TrimInterval = TimeSpan.FromMilliseconds(50);
            });

        string[] bodies = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => host.Client.GetStringAsync("/hold")));
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Requests == Burst, "the burst's arenas are released");
        await Released.WaitUntilAsync(() => host.Statistics.GetSnapshot().Pool.PooledSlabs == 0, "the idle pool is trimmed");

        SlabPoolStatistics idle = host.Statistics.GetSnapshot().Pool;
        Assert.All(bodies, body => Assert.Equal("4000", body));
        Assert.Equal(Burst, idle.SlabsRented);
        Assert.Equal(Burst, idle.SlabsReturned);
        Assert.Equal(Burst, idle.SlabsTrimmed);
        Assert.Equal(0, idle.SlabsDropped);
        Assert.Equal(0, idle.PooledBytes);
        Assert.Equal(idle.ProviderAllocatedBytes, idle.ProviderFreedBytes);

        // A trimmed pool still serves: the next request gets a new slab from the provider.
        Assert.Equal("4000", await host.Client.GetStringAsync("/hold"));
    }

    [Fact]
    public void SlabProvider_IsThePoolsSource()
    {
        var provider = new NativeMemorySlabProvider();
        using (ServiceProvider services = new ServiceCollection().AddRequestArena(o => o.SlabProvider = provider).BuildServiceProvider())
        {
            ArenaPool pool = services.GetRequiredService<RequestArenaPools>().ArenaPool;
            Arena arena = pool.Rent();
            Memory<byte> memory = arena.AllocateMemory(100);

            Assert.Same(provider, pool.SlabPool.Provider);
            Assert.False(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(memory, out _));
            Assert.Equal(pool.SlabPool.SlabSize, provider.OutstandingBytes);
            pool.Return(arena);
        }

        // The host's pool is freed with the container, and native slabs with it.
        Assert.Equal(0, provider.OutstandingBytes);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DetectUseAfterRelease_IsPassedToTheArenas(bool detect)
    {
        using ServiceProvider provider = new ServiceCollection().AddRequestArena(o => o.DetectUseAfterRelease = detect).BuildServiceProvider();
        ArenaPool pool = provider.GetRequiredService<RequestArenaPools>().ArenaPool;
        Arena arena = pool.Rent();

        Memory<byte> memory = arena.AllocateMemory(16);
        pool.Return(arena);

        // Checked memory is backed by a slab lease and dies with the arena; unchecked memory is a plain array slice.
        Assert.Equal(!detect, System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(memory, out _));
        if (detect)
        {
            Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
        }
        else
        {
            Assert.Equal(16, memory.Span.Length);
        }
    }

    // Unchecked memory over slabs that are freed or unmapped when the pool drops them would be a use after free.
    [Theory]
    [InlineData("native")]
    [InlineData("shared-memory")]
    public async Task Start_DetectUseAfterReleaseOffWithSlabsFreedWhenDropped_FailsNamingBothOptions(string providerName)
    {
        ISlabProvider slabs = providerName == "native"
            ? new NativeMemorySlabProvider()
            : new RequestArena.Adapters.SharedMemorySlabProvider(new RequestArena.Adapters.MemoryMappedSharedMemoryProvider());

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => ArenaTestHost.StartAsync(
            app => app.MapGet("/", () => "x"),
            o =>
            {
                o.DetectUseAfterRelease = false;
                o.SlabProvider = slabs;
            }));

        string failure = Assert.Single(ex.Failures);
        Assert.Contains("RequestArenaOptions.DetectUseAfterRelease = false", failure);
        Assert.Contains($"RequestArenaOptions.SlabProvider '{providerName}'", failure);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ZeroMemory_IsPassedToTheArenas(bool zero)
    {
        using ServiceProvider provider = new ServiceCollection().AddRequestArena(o => o.ZeroMemory = zero).BuildServiceProvider();

        Arena arena = provider.GetRequiredService<RequestArenaPools>().ArenaPool.Rent();

        Assert.Equal(zero, arena.ZeroMemory);
    }

    [Fact]
    public async Task LimitExceededStatusCode_IsTheStatusOfOverLimitResponses()
    {
        await using var host = await ArenaTestHost.StartAsync(
            app => app.MapGet("/", (IModuleAllocator arena) => arena.AllocateMemory(11).Length),
            o =>
            {
                o.MaxBytesPerRequest = 10;
                o.LimitExceededStatusCode = 507;
            });

        Assert.Equal(507, (int)(await host.Client.GetAsync("/")).StatusCode);
    }
}
