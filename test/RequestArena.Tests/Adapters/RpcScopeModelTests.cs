using System.Collections.Concurrent;
using RequestArena.Adapters;
using Xunit.Abstractions;

namespace RequestArena.Tests.Adapters;

// Random sequences of the RpcSm* operations on three flows, each on its own thread (started without flowing the
// execution context, as RPC worker threads are): enable and disable, environments a request provides and ends,
// get and set thread handles (handing one flow's environment to another), allocate with good and bad sizes and
// quotas, and frees that are right, double, sliced, foreign or from another environment. After every step the
// statuses, the blocks' contents and the memory of released environments are checked against a plain model.
public sealed class RpcScopeModelTests(ITestOutputHelper output)
{
    private const int Steps = 250;
    private const int Flows = 3;

    public static TheoryData<int> Seeds() => AdapterModelSeeds.Get(30);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomOperations_MatchTheModel(int seed)
    {
        var random = new Random(seed);
        Worker[] flows = [.. Enumerable.Range(0, Flows).Select(i => new Worker($"flow {i}"))];
        var current = new Env?[Flows];
        var envs = new List<Env>();
        var blocks = new List<Block>();
        byte[] foreignArray = new byte[64];
        var seen = new SortedDictionary<string, int>(StringComparer.Ordinal);
        void Seen(string what) => seen[what] = seen.GetValueOrDefault(what) + 1;
        string step = "start";

        try
        {
            for (int i = 0; i < Steps; i++)
            {
                int f = random.Next(Flows);
                Worker flow = flows[f];
                Env? cur = current[f];
                bool live = cur is { Released: false };
                int op = random.Next(100);

                if (op < 8)
                {
                    long quota = random.Next(3) == 0 ? random.Next(2_000, 50_000) : 0;
                    step = $"step {i}: {flow.Name} EnableAllocate(quota {quota})";
                    (RpcStatus status, RpcScopeEnvironment? handle) = flow.Run(() =>
                    {
                        RpcStatus s = RpcScopeAllocator.EnableAllocate(quota > 0 ? new ArenaOptions { MaxBytes = quota } : null);
                        return (s, RpcScopeAllocator.GetThreadHandle(out _));
                    });
                    if (live)
                    {
                        Assert.Equal(RpcStatus.AlreadyInitialized, status);
                        Assert.Same(cur!.Handle, handle);
                    }
                    else
                    {
                        Assert.Equal(RpcStatus.Ok, status);
                        Assert.NotNull(handle);
                        Assert.True(handle.IsEnabledByApplication);
                        var env = new Env(handle, owned: true, requestArena: null, quota) { Creator = f };
                        envs.Add(env);
                        current[f] = env;
                    }
                }
                else if (op < 14)
                {
                    step = $"step {i}: {flow.Name} DisableAllocate()";
                    RpcStatus status = flow.Run(RpcScopeAllocator.DisableAllocate);
                    Seen($"Disable {status}");
                    RpcStatus expected = !live ? RpcStatus.NoEnvironment : !cur!.Owned ? RpcStatus.NotOwner : RpcStatus.Ok;
                    Assert.Equal(expected, status);
                    if (expected == RpcStatus.Ok)
                    {
                        cur!.Released = true;
                        current[f] = null;
                    }
                }
                else if (op < 19)
                {
                    // A request provides the environment (the request acts as the server stub) and hands it to this flow.
                    long quota = random.Next(2) == 0 ? random.Next(2_000, 50_000) : 0;
                    step = $"step {i}: {flow.Name} takes a request's environment (quota {quota})";
                    var arena = new Arena(new ArenaOptions { MaxBytes = quota });
                    var env = new Env(new RpcScopeEnvironment(arena), owned: false, arena, quota) { Creator = f };
                    envs.Add(env);
                    Assert.Equal(RpcStatus.Ok, flow.Run(() => RpcScopeAllocator.SetThreadHandle(env.Handle)));
                    current[f] = env;
                }
                else if (op < 23 && envs.Any(e => e.RequestArena is not null && !e.Released))
                {
                    Env env = envs.Where(e => e.RequestArena is not null && !e.Released).ElementAt(0);
                    step = $"step {i}: a request ends (environment {envs.IndexOf(env)})";
                    env.RequestArena!.Reset();
                    Assert.True(env.Handle.IsReleased);
                    env.Released = true;
                    Seen("request ended");
                }
                else if (op < 30)
                {
                    step = $"step {i}: {flow.Name} GetThreadHandle()";
                    (RpcScopeEnvironment? handle, RpcStatus status) = flow.Run(() => (RpcScopeAllocator.GetThreadHandle(out RpcStatus s), s));
                    Assert.Equal(live ? RpcStatus.Ok : RpcStatus.NoEnvironment, status);
                    Assert.Same(live ? cur!.Handle : null, handle);
                }
                else if (op < 38)
                {
                    Env? handle = envs.Count > 0 && random.Next(5) != 0 ? envs[random.Next(envs.Count)] : null;
                    step = $"step {i}: {flow.Name} SetThreadHandle({(handle is null ? "null" : $"environment {envs.IndexOf(handle)}{(handle.Released ? ", released" : "")}")})";
                    RpcStatus status = flow.Run(() => RpcScopeAllocator.SetThreadHandle(handle?.Handle));
                    Seen($"SetThreadHandle {status}");
                    if (handle is { Released: true })
                    {
                        Assert.Equal(RpcStatus.InvalidArg, status);
                    }
                    else
                    {
                        Assert.Equal(RpcStatus.Ok, status);
                        current[f] = handle;
                    }
                }
                else if (op < 75)
                {
                    int size = random.Next(20) switch
                    {
                        0 => 0,
                        1 => -random.Next(1, 100),
                        2 => int.MaxValue,
                        < 12 => random.Next(1, 200),
                        < 18 => random.Next(200, 8_192),
                        _ => random.Next(8_193, 20_000),
                    };
                    step = $"step {i}: {flow.Name} Allocate({size})";
                    long arenaBefore = cur?.RequestArena is { } ra && !cur.Released ? ra.AllocatedBytes : 0;
                    (Memory<byte> memory, RpcStatus status) = flow.Run(() => (RpcScopeAllocator.Allocate(size, out RpcStatus s), s));
                    Seen($"Allocate {status}{(status == RpcStatus.Ok && cur is not null && cur.Creator != f ? " (handed-over environment)" : "")}");
                    if (cur is null)
                    {
                        Assert.Equal(RpcStatus.NoEnvironment, status);
                    }
                    else if (size < 0 || size > RpcScopeEnvironment.MaxBlockSize)
                    {
                        Assert.Equal(RpcStatus.InvalidArg, status);
                    }
                    else if (cur.Released)
                    {
                        Assert.Equal(RpcStatus.NoEnvironment, status);
                    }
                    else if (status == RpcStatus.OutOfMemory)
                    {
                        // Refused only when even a block on its own (size, header, alignment slack) would not fit.
                        Assert.True(cur.Quota > 0, "out of memory without a quota");
                        if (cur.RequestArena is not null)
                        {
                            Assert.True(cur.Quota - arenaBefore < size + RpcScopeEnvironment.HeaderSize + 7, $"refused {size} bytes with {cur.Quota - arenaBefore} of the quota left");
                        }
                    }
                    else
                    {
                        Assert.Equal(RpcStatus.Ok, status);
                        Assert.Equal(size, memory.Length);
                        cur.Sum += size;
                        Assert.True(cur.Quota == 0 || cur.Sum <= cur.Quota, $"{cur.Sum} bytes handed out under a quota of {cur.Quota}");
                        if (size > 0)
                        {
                            Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0, "a new block was not zeroed");
                            Assert.Equal(0, TestPools.AddressOf(memory) % 8);
                            byte fill = (byte)random.Next(1, 256);
                            memory.Span.Fill(fill);
                            blocks.Add(new Block(memory, cur, fill));
                        }
                    }
                }
                else
                {
                    int which = random.Next(6);
                    // Half the time one of this flow's own live blocks, or frees would rarely be the right ones.
                    Block[] own = [.. blocks.Where(b => b.Env == cur && !b.Freed)];
                    Block? block = own.Length > 0 && random.Next(2) == 0 ? own[random.Next(own.Length)]
                        : blocks.Count > 0 ? blocks[random.Next(blocks.Count)] : null;
                    (Memory<byte> memory, string what) = which switch
                    {
                        < 3 when block is not null => (block.Memory, "a block"),
                        3 when block is not null && block.Memory.Length > 1 => (block.Memory[..^1], "a block shortened by one byte"),
                        4 => (foreignArray.AsMemory(8, 16), "memory from elsewhere"),
                        _ => (Memory<byte>.Empty, "empty memory"),
                    };
                    string whose = block is null ? "" : $" (environment {envs.IndexOf(block.Env)}{(block.Env.Released ? ", released" : "")}{(block.Freed ? ", freed" : "")})";
                    step = $"step {i}: {flow.Name} Free({what}{(what == "a block" || what.StartsWith("a block ", StringComparison.Ordinal) ? whose : "")})";
                    RpcStatus status = flow.Run(() => RpcScopeAllocator.Free(memory));
                    Seen($"Free {status}");
                    bool exact = what == "a block";
                    if (!live)
                    {
                        Assert.Equal(RpcStatus.NoEnvironment, status);
                    }
                    else if (exact && block!.Env == cur && !block.Freed)
                    {
                        Assert.Equal(RpcStatus.Ok, status);
                        block.Freed = true;
                    }
                    else
                    {
                        Assert.Equal(RpcStatus.InvalidArg, status);
                    }
                }

                foreach (Block block in blocks)
                {
                    if (block.Env.Released)
                    {
                        Assert.Throws<ObjectDisposedException>(() => block.Memory.Span.Length);
                    }
                    else if (!block.Freed)
                    {
                        Assert.True(block.Memory.Span.IndexOfAnyExcept(block.Fill) < 0, "a live block was overwritten");
                    }
                }
            }

            output.WriteLine($"seed {seed}: " + string.Join(", ", seen.Select(kv => $"{kv.Key} {kv.Value}")));
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException || !ex.Message.StartsWith("seed ", StringComparison.Ordinal))
        {
            output.WriteLine(AdapterModelSeeds.Replay(seed, step));
            throw new Xunit.Sdk.XunitException($"{AdapterModelSeeds.Replay(seed, step)}: {ex.Message}");
        }
        finally
        {
            foreach (Worker flow in flows)
            {
                flow.Run(() => RpcScopeAllocator.SetThreadHandle(null));
                flow.Dispose();
            }

            foreach (Env env in envs)
            {
                env.Handle.Dispose();
                env.RequestArena?.Dispose();
            }
        }
    }

    private sealed class Env(RpcScopeEnvironment handle, bool owned, Arena? requestArena, long quota)
    {
        public RpcScopeEnvironment Handle { get; } = handle;

        public bool Owned { get; } = owned;

        public Arena? RequestArena { get; } = requestArena;

        public long Quota { get; } = quota;

        public bool Released { get; set; }

        public long Sum { get; set; }

        public int Creator { get; init; }
    }

    private sealed class Block(Memory<byte> memory, Env env, byte fill)
    {
        public Memory<byte> Memory { get; } = memory;

        public Env Env { get; } = env;

        public byte Fill { get; } = fill;

        public bool Freed { get; set; }
    }

    // A flow of its own: a thread started without the test's execution context, running one call at a time, so
    // what RpcScopeAllocator keeps per flow stays on that thread between calls.
    private sealed class Worker : IDisposable
    {
        private readonly BlockingCollection<Action> _work = [];
        private readonly Thread _thread;

        public Worker(string name)
        {
            Name = name;
            _thread = new Thread(() =>
            {
                foreach (Action action in _work.GetConsumingEnumerable())
                {
                    action();
                }
            })
            { IsBackground = true, Name = name };
            using (ExecutionContext.SuppressFlow())
            {
                _thread.Start();
            }
        }

        public string Name { get; }

        public T Run<T>(Func<T> call)
        {
            T result = default!;
            Exception? failure = null;
            using var done = new ManualResetEventSlim();
            _work.Add(() =>
            {
                try
                {
                    result = call();
                }
                catch (Exception ex)
                {
                    failure = ex;
                }

                done.Set();
            });
            done.Wait();
            return failure is null ? result : throw new InvalidOperationException($"{Name}: {failure.Message}", failure);
        }

        public void Dispose()
        {
            _work.CompleteAdding();
            _thread.Join();
            _work.Dispose();
        }
    }
}
