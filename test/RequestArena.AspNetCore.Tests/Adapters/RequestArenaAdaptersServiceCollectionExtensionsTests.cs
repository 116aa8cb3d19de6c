using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RequestArena.Adapters;

namespace RequestArena.AspNetCore.Tests.Adapters;

public sealed class RequestArenaAdaptersServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddRequestArenaAdapters_InjectsTheSameObjectsAsTheHttpContextExtensions()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/same", (
            HttpContext context,
            BidiAllocator bidi,
            RpcScopeEnvironment rpc,
            [FromServices] NdisMemoryAllocator ndis) =>
            ReferenceEquals(bidi, context.GetBidiAllocator())
            && ReferenceEquals(rpc, context.GetRpcScopeEnvironment())
            && ReferenceEquals(ndis, context.GetNdisMemoryAllocator())
            && ReferenceEquals(bidi, context.RequestServices.GetRequiredService<BidiAllocator>())));

        Assert.Equal("true", await host.Client.GetStringAsync("/same"));
    }

    // The endpoint fails, which releases the request's arena and its adapters at once; UseExceptionHandler re-executes
    // the pipeline on the same request and DI scope. The error page's injected adapters are the request's new ones.
    [Fact]
    public async Task AddRequestArenaAdapters_PipelineReExecutedAfterAFailure_InjectedAdaptersWorkAndMatchTheExtensions()
    {
        var firstPass = new List<object>();
        await using var host = await ArenaTestHost.StartCustomAsync(
            services => services.AddRequestArena().AddRequestArenaAdapters(),
            app =>
            {
                app.UseExceptionHandler("/error");
                app.UseRouting();
                app.UseRequestArena();
                app.MapGet("/fails", (BidiAllocator bidi, RpcScopeEnvironment rpc, NdisMemoryAllocator ndis) =>
                {
                    firstPass.AddRange([bidi, rpc, ndis]);
                    bidi.Allocate(32);
                    rpc.Allocate(16, out _);
                    ndis.AllocateMemory(out _, 64, NdisMemoryFlags.None);
                    throw new InvalidOperationException("boom");
                });
                app.Map("/error", (HttpContext context, BidiAllocator bidi, RpcScopeEnvironment rpc, NdisMemoryAllocator ndis) =>
                {
                    bool fresh = !firstPass.Contains(bidi) && !firstPass.Contains(rpc) && !firstPass.Contains(ndis);
                    bool same = ReferenceEquals(bidi, context.GetBidiAllocator())
                        && ReferenceEquals(rpc, context.GetRpcScopeEnvironment())
                        && ReferenceEquals(ndis, context.GetNdisMemoryAllocator());
                    bool bidiWorks = !bidi.Allocate(32).IsEmpty;
                    rpc.Allocate(16, out RpcStatus rpcStatus);
                    SlabProviderStatus ndisStatus = ndis.AllocateMemory(out _, 64, NdisMemoryFlags.None);
                    return Results.Text($"fresh {fresh}, same {same}, bidi {bidiWorks}, rpc {rpcStatus}, ndis {ndisStatus}", statusCode: 500);
                });
            });

        HttpResponseMessage response = await host.Client.GetAsync("/fails");

        Assert.Equal("fresh True, same True, bidi True, rpc Ok, ndis Success", await response.Content.ReadAsStringAsync());
        Assert.All(firstPass, adapter => Assert.True(adapter is BidiAllocator { IsDisposed: true } or RpcScopeEnvironment { IsReleased: true } or NdisMemoryAllocator { IsDisposed: true }));
    }

    // The root provider would keep every request's adapter until shutdown; a scope of the handler's own would dispose
    // the request's adapter with it. Both are refused, and the request's adapters live on.
    [Fact]
    public async Task AddRequestArenaAdapters_ResolvedFromTheRootOrAChildScopeInARequest_ThrowsAndTheRequestsAdaptersLive()
    {
        IServiceProvider? root = null;
        await using var host = await AdapterTestHost.StartAsync(app =>
        {
            root = app.Services;
            app.MapGet("/scopes", (HttpContext context, BidiAllocator bidi, NdisMemoryAllocator ndis) =>
            {
                ResolutionAssert.RefusedOutsideTheRequestsServices<BidiAllocator>(root!, context);
                ResolutionAssert.RefusedOutsideTheRequestsServices<NdisMemoryAllocator>(root!, context);
                bool alive = !bidi.IsDisposed && !ndis.IsDisposed && !bidi.Allocate(16).IsEmpty;
                return $"alive {alive}";
            });
        });

        Assert.Equal("alive True", await host.Client.GetStringAsync("/scopes"));
    }

    // Autofac wraps the request's lifetime scope in provider objects of its own: the adapters still resolve there.
    [Fact]
    public async Task AddRequestArenaAdapters_UnderAutofac_InjectsTheRequestsAdaptersAndStillRefusesOtherScopes()
    {
        IServiceProvider? root = null;
        await using var host = await ArenaTestHost.StartUnderAutofacAsync(
            services => services.AddRequestArena().AddRequestArenaAdapters(),
            app =>
            {
                root = app.Services;
                app.MapGet("/", (HttpContext context, BidiAllocator bidi, RpcScopeEnvironment rpc, NdisMemoryAllocator ndis) =>
                {
                    ResolutionAssert.RefusedOutsideTheRequestsServices<BidiAllocator>(root!, context);
                    bool same = ReferenceEquals(bidi, context.GetBidiAllocator())
                        && ReferenceEquals(rpc, context.GetRpcScopeEnvironment())
                        && ReferenceEquals(ndis, context.GetNdisMemoryAllocator());
                    return $"same {same}, {bidi.Allocate(16).Length}";
                });
            });

        Assert.Equal("same True, 16", await host.Client.GetStringAsync("/"));
    }

    [Fact]
    public async Task AddRequestArenaAdapters_EachRequestGetsItsOwnAdapters()
    {
        var seen = new System.Collections.Concurrent.ConcurrentBag<object>();
        using var bothInside = new Barrier(2);
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/own", (BidiAllocator bidi, RpcScopeEnvironment rpc, NdisMemoryAllocator ndis) =>
        {
            seen.Add(bidi);
            seen.Add(rpc);
            seen.Add(ndis);

            // Both requests hold their adapters at the same time.
            bothInside.SignalAndWait(TimeSpan.FromSeconds(10));
            return "ok";
        }));

        await Task.WhenAll(host.Client.GetStringAsync("/own"), host.Client.GetStringAsync("/own"));

        Assert.Equal(6, seen.Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public async Task ResolvingAnAdapterWhereNoRequestRuns_ThrowsInvalidOperationThatSaysSo()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/", () => "ok"));
        using IServiceScope scope = host.App.Services.CreateScope();

        var exception = Assert.Throws<InvalidOperationException>(() => scope.ServiceProvider.GetRequiredService<BidiAllocator>());

        Assert.Contains("no request is running", exception.Message);
        Assert.Throws<InvalidOperationException>(() => scope.ServiceProvider.GetRequiredService<RpcScopeEnvironment>());
        Assert.Throws<InvalidOperationException>(() => scope.ServiceProvider.GetRequiredService<NdisMemoryAllocator>());
    }

    [Fact]
    public async Task AddRequestArenaAdapters_WithNdisOptions_EveryRequestsAllocatorUsesThem()
    {
        await using var host = await AdapterTestHost.StartAsync(
            app => app.MapGet("/contiguous", (NdisMemoryAllocator ndis) =>
                $"{ndis.AllocateMemory(out _, 8192, NdisMemoryFlags.Contiguous)} {ndis.AllocateMemory(out _, 4096, NdisMemoryFlags.Contiguous)}"),
            services => services.AddRequestArenaAdapters(options => options.MaxContiguousLength = 4096));

        Assert.Equal("Failure Success", await host.Client.GetStringAsync("/contiguous"));
    }

    [Theory]
    [InlineData(nameof(NdisMemoryAllocatorOptions.MaxContiguousLength), 0L, "NdisMemoryAllocatorOptions.MaxContiguousLength must be positive; it was 0.")]
    [InlineData(nameof(NdisMemoryAllocatorOptions.MaxContiguousLength), -1L, "NdisMemoryAllocatorOptions.MaxContiguousLength must be positive; it was -1.")]
    [InlineData(nameof(NdisMemoryAllocatorOptions.MaxContiguousLength), (long)int.MinValue, "NdisMemoryAllocatorOptions.MaxContiguousLength must be positive; it was -2147483648.")]
    [InlineData(nameof(NdisMemoryAllocatorOptions.MaxNativeBytes), -1L, "NdisMemoryAllocatorOptions.MaxNativeBytes must be 0 (no limit of its own) or positive; it was -1.")]
    [InlineData(nameof(NdisMemoryAllocatorOptions.MaxNativeBytes), long.MinValue, "NdisMemoryAllocatorOptions.MaxNativeBytes must be 0 (no limit of its own) or positive; it was -9223372036854775808.")]
    public async Task AddRequestArenaAdapters_NdisOptionsInvalid_StartFails(string option, long value, string expected)
    {
        // No request is sent: the host must refuse to start, not wait for the first request that asks for the allocator.
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => AdapterTestHost.StartAsync(
            app => app.MapGet("/ndis", (NdisMemoryAllocator ndis) => ndis.BlocksInUse),
            services => services.AddRequestArenaAdapters(NdisOption(option, value))));

        Assert.Equal(typeof(NdisMemoryAllocatorOptions), ex.OptionsType);
        Assert.Equal(expected, Assert.Single(ex.Failures));
    }

    [Fact]
    public async Task AddRequestArenaAdapters_NdisOptionsAllInvalid_StartFailsNamingEach()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => AdapterTestHost.StartAsync(
            app => app.MapGet("/", () => "x"),
            services => services.AddRequestArenaAdapters(options =>
            {
                options.MaxContiguousLength = 0;
                options.MaxNativeBytes = -1;
            })));

        Assert.Collection(
            ex.Failures,
            failure => Assert.StartsWith("NdisMemoryAllocatorOptions.MaxContiguousLength ", failure),
            failure => Assert.StartsWith("NdisMemoryAllocatorOptions.MaxNativeBytes ", failure));
    }

    [Theory]
    [InlineData(nameof(NdisMemoryAllocatorOptions.MaxContiguousLength), 1L)]
    [InlineData(nameof(NdisMemoryAllocatorOptions.MaxContiguousLength), (long)int.MaxValue)]
    [InlineData(nameof(NdisMemoryAllocatorOptions.MaxNativeBytes), 0L)]
    [InlineData(nameof(NdisMemoryAllocatorOptions.MaxNativeBytes), long.MaxValue)]
    public async Task AddRequestArenaAdapters_NdisOptionsAtTheirLimits_StartAndServeTheAllocator(string option, long value)
    {
        await using var host = await AdapterTestHost.StartAsync(
            app => app.MapGet("/ndis", (NdisMemoryAllocator ndis) => $"{ndis.AllocateMemory(out Memory<byte> memory, 1, NdisMemoryFlags.None)} {memory.Length}"),
            services => services.AddRequestArenaAdapters(NdisOption(option, value)));

        Assert.Equal("Success 1", await host.Client.GetStringAsync("/ndis"));
    }

    [Fact]
    public void AddRequestArenaAdapters_CalledTwice_RegistersEachAdapterOnce()
    {
        var services = new ServiceCollection();

        services.AddRequestArenaAdapters().AddRequestArenaAdapters();

        Assert.Single(services, d => d.ServiceType == typeof(BidiAllocator));
        Assert.Single(services, d => d.ServiceType == typeof(RpcScopeEnvironment));
        Assert.Single(services, d => d.ServiceType == typeof(NdisMemoryAllocator));
        Assert.All(services.Where(d => d.ServiceType == typeof(BidiAllocator)), d => Assert.Equal(ServiceLifetime.Transient, d.Lifetime));
    }

    [Fact]
    public void AddRequestArenaAdapters_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => RequestArenaAdaptersServiceCollectionExtensions.AddRequestArenaAdapters(null!));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddRequestArenaAdapters(null!));
    }

    [Fact]
    public async Task Adapters_InjectedIntoAController_AreTheRequestsAdapters()
    {
        await using var host = await AdapterTestHost.StartAsync(
            app => app.MapControllers(),
            services => services.AddControllers().AddApplicationPart(typeof(AdapterController).Assembly));

        Assert.Equal("true", await host.Client.GetStringAsync("/adapters/mvc"));
    }

    private static Action<NdisMemoryAllocatorOptions> NdisOption(string option, long value) => option switch
    {
        nameof(NdisMemoryAllocatorOptions.MaxContiguousLength) => options => options.MaxContiguousLength = checked((int)value),
        _ => options => options.MaxNativeBytes = value,
    };
}

[ApiController]
[Route("adapters")]
public sealed class AdapterController(BidiAllocator bidi) : ControllerBase
{
    [HttpGet("mvc")]
    public bool Get([FromServices] RpcScopeEnvironment rpc) =>
        ReferenceEquals(bidi, HttpContext.GetBidiAllocator()) && ReferenceEquals(rpc, HttpContext.GetRpcScopeEnvironment());
}
