using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using RequestArena.Adapters;

namespace RequestArena.AspNetCore.Tests.Adapters;

// Inside a request the request is the RPC stub: RpcScopeAllocator finds the request's environment with no Enable.
public sealed class RequestArenaRpcStubMiddlewareTests
{
    [Fact]
    public async Task InsideARequest_AllocateWorksWithoutEnable_AndUsesTheRequestsEnvironment()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/rpc", async (HttpContext context) =>
        {
            Memory<byte> before = RpcScopeAllocator.Allocate(32, out RpcStatus status);
            await Task.Yield();
            Memory<byte> after = RpcScopeAllocator.Allocate(32, out RpcStatus afterAwait);
            RpcScopeEnvironment environment = context.GetRpcScopeEnvironment();
            return $"{status} {afterAwait} {environment.Free(before)} {RpcScopeAllocator.Free(after)} {ReferenceEquals(RpcScopeAllocator.GetThreadHandle(out _), environment)}";
        }));

        Assert.Equal("Ok Ok Ok Ok True", await host.Client.GetStringAsync("/rpc"));
    }

    [Fact]
    public async Task InsideARequest_EnableIsAlreadyInitializedAndDisableIsNotOwner()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/misuse", () =>
            $"{RpcScopeAllocator.EnableAllocate()} {RpcScopeAllocator.DisableAllocate()} {RpcScopeAllocator.Allocate(8, out RpcStatus status).Length} {status}"));

        Assert.Equal("AlreadyInitialized NotOwner 8 Ok", await host.Client.GetStringAsync("/misuse"));
    }

    [Fact]
    public async Task InsideARequest_WorkThatDoesNotInheritTheFlow_UsesTheThreadHandle()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/worker", async () =>
        {
            RpcScopeEnvironment handle = RpcScopeAllocator.GetThreadHandle(out _)!;
            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            ThreadPool.UnsafeQueueUserWorkItem(_ =>
            {
                RpcScopeAllocator.Allocate(8, out RpcStatus without);
                RpcScopeAllocator.SetThreadHandle(handle);
                Memory<byte> memory = RpcScopeAllocator.Allocate(8, out RpcStatus with);
                RpcStatus freed = RpcScopeAllocator.Free(memory);
                RpcScopeAllocator.SetThreadHandle(null);
                done.SetResult($"{without} {with} {freed}");
            }, null);
            return await done.Task;
        }));

        Assert.Equal("NoEnvironment Ok Ok", await host.Client.GetStringAsync("/worker"));
    }

    [Fact]
    public async Task AfterTheRequest_TheEnvironmentIsReleased()
    {
        var captured = new Captured<RpcScopeEnvironment>();
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/keep", () =>
        {
            RpcScopeAllocator.Allocate(8, out _);
            captured.Set(RpcScopeAllocator.GetThreadHandle(out _)!);
            return "ok";
        }));

        await host.Client.GetStringAsync("/keep");
        RpcScopeEnvironment environment = await captured.Task;

        await Released.WaitUntilAsync(() => environment.IsReleased, "the environment is released");
        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.SetThreadHandle(environment));
    }

    [Fact]
    public async Task WorkThatOutlivesItsRequest_OnTheRequestsFlow_GetsNoEnvironmentWhileAnotherRequestRuns()
    {
        var environment = new Captured<RpcScopeEnvironment>();
        var late = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lateMayRun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondMayEnd = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await AdapterTestHost.StartAsync(app =>
        {
            app.MapGet("/first", () =>
            {
                RpcScopeAllocator.Allocate(8, out _);
                environment.Set(RpcScopeAllocator.GetThreadHandle(out _)!);

                // Inherits the request's flow, both the environment made its own on first use and the stub's source.
                _ = Task.Run(async () =>
                {
                    await lateMayRun.Task;
                    Memory<byte> memory = RpcScopeAllocator.Allocate(8, out RpcStatus status);
                    RpcScopeEnvironment? handle = RpcScopeAllocator.GetThreadHandle(out RpcStatus handleStatus);
                    late.SetResult($"{status} {memory.Length} {handle is null} {handleStatus} {RpcScopeAllocator.Free(memory)}");
                });
                return "first";
            });
            app.MapGet("/second", async () =>
            {
                // A live environment in the process that a late caller must not be handed.
                RpcScopeAllocator.Allocate(8, out _);
                secondRunning.SetResult();
                await secondMayEnd.Task;
                return "second";
            });
        });

        Assert.Equal("first", await host.Client.GetStringAsync("/first"));
        RpcScopeEnvironment first = await environment.Task;
        await Released.WaitUntilAsync(() => first.IsReleased, "the first request's environment is released");

        Task<string> second = host.Client.GetStringAsync("/second");
        await secondRunning.Task;
        lateMayRun.SetResult();
        string result = await late.Task;
        secondMayEnd.SetResult();

        Assert.Equal("NoEnvironment 0 True NoEnvironment NoEnvironment", result);
        Assert.Equal("second", await second);
    }

    [Fact]
    public async Task OnAnEndpointWithTheArenaDisabled_ThereIsNoEnvironment()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/off", () =>
        {
            RpcScopeAllocator.Allocate(8, out RpcStatus status);
            return status.ToString();
        }).DisableRequestArena());

        Assert.Equal("NoEnvironment", await host.Client.GetStringAsync("/off"));
    }

    [Fact]
    public async Task OutsideRequests_ThereIsNoEnvironment()
    {
        await using var host = await AdapterTestHost.StartAsync(app => app.MapGet("/", () => "ok"));

        RpcScopeAllocator.Allocate(8, out RpcStatus status);

        Assert.Equal(RpcStatus.NoEnvironment, status);
    }

    [Fact]
    public async Task ARequestsEnvironment_IsNotAnotherRequests()
    {
        var first = new Captured<RpcScopeEnvironment>();
        var firstMemory = new TaskCompletionSource<Memory<byte>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await AdapterTestHost.StartAsync(app =>
        {
            app.MapGet("/a", async () =>
            {
                firstMemory.SetResult(RpcScopeAllocator.Allocate(8, out _));
                first.Set(RpcScopeAllocator.GetThreadHandle(out _)!);
                await release.Task;
                return "a";
            });
            app.MapGet("/b", async () =>
            {
                Memory<byte> foreign = await firstMemory.Task;
                RpcScopeEnvironment other = await first.Task;
                RpcScopeEnvironment mine = RpcScopeAllocator.GetThreadHandle(out _)!;
                string result = $"{ReferenceEquals(mine, other)} {RpcScopeAllocator.Free(foreign)}";
                release.SetResult();
                return result;
            });
        });

        Task<string> a = host.Client.GetStringAsync("/a");
        string b = await host.Client.GetStringAsync("/b");

        Assert.Equal("False InvalidArg", b);
        Assert.Equal("a", await a);
    }

    [Fact]
    public async Task AnotherHostWithoutTheAdapters_HasNoRequestEnvironment()
    {
        // Both hosts run the arena and fill IHttpContextAccessor; only the first added the adapters, and adding them
        // must not make the second host's requests RPC stubs too.
        await using var withAdapters = await AdapterTestHost.StartAsync(app => app.MapGet("/rpc", () =>
        {
            RpcScopeAllocator.Allocate(8, out RpcStatus status);
            return status.ToString();
        }));
        await using var without = await AdapterTestHost.StartAsync(
            app => app.MapGet("/rpc", () =>
            {
                RpcScopeAllocator.Allocate(8, out RpcStatus status);
                return status.ToString();
            }),
            services => services.AddHttpContextAccessor(),
            addAdapters: false);

        Assert.Equal("Ok", await withAdapters.Client.GetStringAsync("/rpc"));
        Assert.Equal("NoEnvironment", await without.Client.GetStringAsync("/rpc"));
        Assert.Equal("Ok", await withAdapters.Client.GetStringAsync("/rpc"));
    }

    [Fact]
    public async Task AnotherHostWithoutTheAdapters_CalledOnTheFlowOfARequest_HasNoRequestEnvironment()
    {
        // The host without the adapters serves its request on the caller's execution context, so its handler runs on
        // the flow of a request of the host with the adapters (the AsyncLocal shows it), and the process-wide
        // IHttpContextAccessor names the called host's request there.
        var callersFlow = new AsyncLocal<string?>();
        await using var without = await AdapterTestHost.StartAsync(
            app => app.MapGet("/rpc", () =>
            {
                Memory<byte> memory = RpcScopeAllocator.Allocate(8, out RpcStatus status);
                return $"{callersFlow.Value} {status} {memory.Length} {RpcScopeAllocator.GetThreadHandle(out _) is null}";
            }),
            services => services.Configure<TestServerOptions>(options => options.PreserveExecutionContext = true),
            addAdapters: false);
        await using var withAdapters = await AdapterTestHost.StartAsync(app =>
        {
            app.MapGet("/call", async (HttpContext context) =>
            {
                callersFlow.Value = "caller";
                Memory<byte> memory = RpcScopeAllocator.Allocate(8, out RpcStatus status);
                bool own = ReferenceEquals(RpcScopeAllocator.GetThreadHandle(out _), context.GetRpcScopeEnvironment());
                string mine = $"{status} {memory.Length} {own} {RpcScopeAllocator.Free(memory)}";
                return $"{mine} | {await without.Client.GetStringAsync("/rpc")}";
            });
            app.MapGet("/rpc", () =>
            {
                RpcScopeAllocator.Allocate(8, out RpcStatus status);
                return status.ToString();
            });
        });

        Assert.Equal("Ok 8 True Ok | caller NoEnvironment 0 True", await withAdapters.Client.GetStringAsync("/call"));
        Assert.Equal("Ok", await withAdapters.Client.GetStringAsync("/rpc"));
    }

    [Fact]
    public async Task InAMiddlewareAfterUseRequestArena_AllocateUsesTheRequestsEnvironment()
    {
        await using var host = await AdapterTestHost.StartAsync(app =>
        {
            app.Use(async (context, next) =>
            {
                Memory<byte> memory = RpcScopeAllocator.Allocate(16, out RpcStatus status);
                bool same = ReferenceEquals(RpcScopeAllocator.GetThreadHandle(out _), context.GetRpcScopeEnvironment());
                context.Response.Headers["X-Rpc"] = $"{status} {memory.Length} {same}";
                await next(context);
            });
            app.MapGet("/", () => "ok");
        });

        using HttpResponseMessage response = await host.Client.GetAsync("/");

        Assert.Equal("Ok 16 True", Assert.Single(response.Headers.GetValues("X-Rpc")));
    }

    [Fact]
    public async Task KeepAliveRequestsOnKestrel_EachGetTheirOwnEnvironment()
    {
        var environments = new System.Collections.Concurrent.ConcurrentQueue<RpcScopeEnvironment>();
        await using var host = await AdapterTestHost.StartAsync(
            app => app.MapGet("/rpc", () =>
            {
                RpcScopeAllocator.Allocate(8, out RpcStatus status);
                environments.Enqueue(RpcScopeAllocator.GetThreadHandle(out _)!);
                return status.ToString();
            }),
            kestrel: true);

        // One client, so the requests share a connection, and with it whatever the server's connection flow carries.
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal("Ok", await host.Client.GetStringAsync("/rpc"));
        }

        Assert.Equal(3, environments.Distinct().Count());
        await Released.WaitUntilAsync(() => environments.All(e => e.IsReleased), "every request's environment is released");
    }
}
