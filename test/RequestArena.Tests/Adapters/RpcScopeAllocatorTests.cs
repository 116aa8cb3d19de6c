using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using RequestArena;
using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class RpcScopeAllocatorTests : IDisposable
{
    public RpcScopeAllocatorTests() => RpcScopeAllocator.SetThreadHandle(null);

    public void Dispose()
    {
        RpcScopeAllocator.DisableAllocate();
        RpcScopeAllocator.SetThreadHandle(null);
    }

    [Fact]
    public void Allocate_WithoutEnvironment_ReturnsNoEnvironmentAndNoMemory()
    {
        Memory<byte> memory = RpcScopeAllocator.Allocate(32, out RpcStatus status);

        Assert.Equal(RpcStatus.NoEnvironment, status);
        Assert.True(memory.IsEmpty);
    }

    [Fact]
    public void EnableAllocate_ThenAllocate_ReturnsZeroedMemoryAndOk()
    {
        Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.EnableAllocate());

        Memory<byte> memory = RpcScopeAllocator.Allocate(100, out RpcStatus status);

        Assert.Equal(RpcStatus.Ok, status);
        Assert.Equal(100, memory.Length);
        Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public unsafe void Allocate_BlocksAreEightByteAligned()
    {
        RpcScopeAllocator.EnableAllocate();

        for (int size = 1; size < 50; size++)
        {
            Memory<byte> memory = RpcScopeAllocator.Allocate(size, out _);
            using System.Buffers.MemoryHandle pin = memory.Pin();
            Assert.Equal(0, (nint)pin.Pointer & 7);
        }
    }

    [Fact]
    public void Allocate_BlocksDoNotOverlap()
    {
        RpcScopeAllocator.EnableAllocate();
        var blocks = new List<Memory<byte>>();
        for (int i = 0; i < 500; i++)
        {
            Memory<byte> memory = RpcScopeAllocator.Allocate(1 + (i % 70), out _);
            memory.Span.Fill((byte)i);
            blocks.Add(memory);
        }

        for (int i = 0; i < blocks.Count; i++)
        {
            Assert.True(blocks[i].Span.IndexOfAnyExcept((byte)i) < 0);
        }
    }

    [Fact]
    public void Allocate_Zero_ReturnsEmptyMemoryThatCanBeFreed()
    {
        RpcScopeAllocator.EnableAllocate();

        Memory<byte> memory = RpcScopeAllocator.Allocate(0, out RpcStatus status);

        Assert.Equal(RpcStatus.Ok, status);
        Assert.Equal(0, memory.Length);
        Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.Free(memory));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(RpcScopeEnvironment.MaxBlockSize + 1)]
    public void Allocate_BadSize_ReturnsInvalidArg(int size)
    {
        RpcScopeAllocator.EnableAllocate();

        Memory<byte> memory = RpcScopeAllocator.Allocate(size, out RpcStatus status);

        Assert.Equal(RpcStatus.InvalidArg, status);
        Assert.True(memory.IsEmpty);
    }

    [Fact]
    public void Allocate_OverQuota_ReturnsOutOfMemory()
    {
        RpcScopeAllocator.EnableAllocate(new ArenaOptions { MaxBytes = 4096 });

        Memory<byte> memory = RpcScopeAllocator.Allocate(5000, out RpcStatus status);

        Assert.Equal(RpcStatus.OutOfMemory, status);
        Assert.True(memory.IsEmpty);
    }

    [Fact]
    public void Allocate_OverQuota_LeavesEnvironmentUsable()
    {
        RpcScopeAllocator.EnableAllocate(new ArenaOptions { MaxBytes = 4096 });
        RpcScopeAllocator.Allocate(5000, out _);

        Memory<byte> memory = RpcScopeAllocator.Allocate(100, out RpcStatus status);

        Assert.Equal(RpcStatus.Ok, status);
        Assert.Equal(100, memory.Length);
    }

    [Fact]
    public void Allocate_ManySmallBlocksUpToQuota_EndsWithOutOfMemory()
    {
        RpcScopeAllocator.EnableAllocate(new ArenaOptions { MaxBytes = 10_000 });
        int allocated = 0;
        RpcStatus status;
        do
        {
            RpcScopeAllocator.Allocate(100, out status);
            allocated += status == RpcStatus.Ok ? 100 : 0;
        }
        while (status == RpcStatus.Ok && allocated < 20_000);

        Assert.Equal(RpcStatus.OutOfMemory, status);

        // Headers and chunk tails count too, but never more than a chunk's worth plus 8 bytes per block.
        Assert.InRange(allocated, 5_000, 10_000);
    }

    [Fact]
    public void Allocate_LargeBlock_IsServedAndFreeable()
    {
        RpcScopeAllocator.EnableAllocate();

        Memory<byte> memory = RpcScopeAllocator.Allocate(200_000, out RpcStatus status);

        Assert.Equal(RpcStatus.Ok, status);
        Assert.Equal(200_000, memory.Length);
        Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.Free(memory));
    }

    [Fact]
    public void EnableAllocate_Twice_ReturnsAlreadyInitializedAndKeepsTheEnvironment()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment? first = RpcScopeAllocator.GetThreadHandle(out _);

        RpcStatus second = RpcScopeAllocator.EnableAllocate();

        Assert.Equal(RpcStatus.AlreadyInitialized, second);
        Assert.Same(first, RpcScopeAllocator.GetThreadHandle(out _));
    }

    [Fact]
    public void EnableAllocate_WhileHoldingAnotherFlowsHandle_ReturnsAlreadyInitialized()
    {
        using var arena = new Arena();
        var environment = new RpcScopeEnvironment(arena);
        RpcScopeAllocator.SetThreadHandle(environment);

        Assert.Equal(RpcStatus.AlreadyInitialized, RpcScopeAllocator.EnableAllocate());
    }

    [Fact]
    public void DisableAllocate_WithoutEnable_ReturnsNoEnvironment()
    {
        Assert.Equal(RpcStatus.NoEnvironment, RpcScopeAllocator.DisableAllocate());
    }

    [Fact]
    public void DisableAllocate_Twice_ReturnsNoEnvironment()
    {
        RpcScopeAllocator.EnableAllocate();

        Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.DisableAllocate());
        Assert.Equal(RpcStatus.NoEnvironment, RpcScopeAllocator.DisableAllocate());
    }

    [Fact]
    public void DisableAllocate_FreesEverything()
    {
        RpcScopeAllocator.EnableAllocate();
        Memory<byte> small = RpcScopeAllocator.Allocate(64, out _);
        Memory<byte> large = RpcScopeAllocator.Allocate(100_000, out _);
        RpcScopeEnvironment? environment = RpcScopeAllocator.GetThreadHandle(out _);

        RpcScopeAllocator.DisableAllocate();

        Assert.True(environment!.IsReleased);
        Assert.Throws<ObjectDisposedException>(() => small.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => large.Span.Length);
        RpcScopeAllocator.Allocate(8, out RpcStatus status);
        Assert.Equal(RpcStatus.NoEnvironment, status);
    }

    [Fact]
    public void DisableAllocate_OfEnvironmentNotEnabledByApplication_ReturnsNotOwner()
    {
        using var arena = new Arena();
        var environment = new RpcScopeEnvironment(arena);
        RpcScopeAllocator.SetThreadHandle(environment);

        Assert.Equal(RpcStatus.NotOwner, RpcScopeAllocator.DisableAllocate());
        Assert.False(environment.IsReleased);
    }

    [Fact]
    public void EnableAllocate_AfterDisable_EstablishesAFreshEnvironment()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment? first = RpcScopeAllocator.GetThreadHandle(out _);
        RpcScopeAllocator.DisableAllocate();

        Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.EnableAllocate());
        Assert.NotSame(first, RpcScopeAllocator.GetThreadHandle(out _));
    }

    [Fact]
    public void Free_OfLiveBlock_ReturnsOk()
    {
        RpcScopeAllocator.EnableAllocate();
        Memory<byte> memory = RpcScopeAllocator.Allocate(40, out _);

        Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.Free(memory));
    }

    [Fact]
    public void Free_Twice_ReturnsInvalidArg()
    {
        RpcScopeAllocator.EnableAllocate();
        Memory<byte> memory = RpcScopeAllocator.Allocate(40, out _);
        RpcScopeAllocator.Free(memory);

        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.Free(memory));
    }

    [Fact]
    public void Free_WithoutEnvironment_ReturnsNoEnvironment()
    {
        Assert.Equal(RpcStatus.NoEnvironment, RpcScopeAllocator.Free(new byte[32]));
    }

    [Fact]
    public void Free_MemoryOfAnotherEnvironment_ReturnsInvalidArgAndLeavesItLive()
    {
        using var otherArena = new Arena();
        var other = new RpcScopeEnvironment(otherArena);
        Memory<byte> foreign = other.Allocate(40, out _);
        RpcScopeAllocator.EnableAllocate();

        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.Free(foreign));
        Assert.Equal(RpcStatus.Ok, other.Free(foreign));
    }

    [Fact]
    public void Free_MemoryOfReleasedEnvironment_ReturnsInvalidArg()
    {
        RpcScopeAllocator.EnableAllocate();
        Memory<byte> old = RpcScopeAllocator.Allocate(40, out _);
        RpcScopeAllocator.DisableAllocate();
        RpcScopeAllocator.EnableAllocate();

        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.Free(old));
    }

    [Fact]
    public void Free_PlainArenaMemoryOrArray_ReturnsInvalidArg()
    {
        RpcScopeAllocator.EnableAllocate();
        using var arena = new Arena();

        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.Free(arena.AllocateMemory(40)));
        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.Free(new byte[40].AsMemory(20)));
        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.Free(Memory<byte>.Empty));
    }

    [Fact]
    public void Free_SlicedBlock_ReturnsInvalidArgAndBlockStaysFreeable()
    {
        RpcScopeAllocator.EnableAllocate();
        Memory<byte> memory = RpcScopeAllocator.Allocate(40, out _);

        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.Free(memory[..20]));
        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.Free(memory[8..]));
        Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.Free(memory));
    }

    [Fact]
    public async Task Environment_FlowsAcrossAwaitAndIntoTasks()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment? environment = RpcScopeAllocator.GetThreadHandle(out _);

        await Task.Yield();
        RpcScopeAllocator.Allocate(16, out RpcStatus afterAwait);
        RpcScopeEnvironment? inTask = await Task.Run(() => RpcScopeAllocator.GetThreadHandle(out _));

        Assert.Equal(RpcStatus.Ok, afterAwait);
        Assert.Same(environment, inTask);
    }

    [Fact]
    public void UnstartedFlow_DoesNotInheritEnvironment_UntilSetThreadHandle()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment handle = RpcScopeAllocator.GetThreadHandle(out _)!;
        RpcStatus before = RpcStatus.Ok, set = RpcStatus.NoEnvironment, after = RpcStatus.NoEnvironment;

        var thread = new Thread(() =>
        {
            RpcScopeAllocator.Allocate(16, out before);
            set = RpcScopeAllocator.SetThreadHandle(handle);
            RpcScopeAllocator.Allocate(16, out after);
        });
        thread.UnsafeStart();
        thread.Join();

        Assert.Equal(RpcStatus.NoEnvironment, before);
        Assert.Equal(RpcStatus.Ok, set);
        Assert.Equal(RpcStatus.Ok, after);
    }

    [Fact]
    public async Task UnsafeQueueUserWorkItem_WithThreadHandle_AllocatesAndFreesInTheSameEnvironment()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment handle = RpcScopeAllocator.GetThreadHandle(out _)!;
        Memory<byte> parentBlock = RpcScopeAllocator.Allocate(24, out _);
        var results = new TaskCompletionSource<(RpcStatus Before, RpcStatus Allocate, RpcStatus FreeParent, Memory<byte> Child)>(TaskCreationOptions.RunContinuationsAsynchronously);

        ThreadPool.UnsafeQueueUserWorkItem(_ =>
        {
            RpcScopeAllocator.Allocate(8, out RpcStatus before);
            RpcScopeAllocator.SetThreadHandle(handle);
            Memory<byte> child = RpcScopeAllocator.Allocate(8, out RpcStatus allocate);
            RpcStatus freeParent = RpcScopeAllocator.Free(parentBlock);
            results.SetResult((before, allocate, freeParent, child));
        }, null);
        var (before, allocate, freeParent, child) = await results.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(RpcStatus.NoEnvironment, before);
        Assert.Equal(RpcStatus.Ok, allocate);
        Assert.Equal(RpcStatus.Ok, freeParent);
        Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.Free(child));
    }

    [Fact]
    public void GetThreadHandle_SetThreadHandle_SaveAndRestore()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment? saved = RpcScopeAllocator.GetThreadHandle(out RpcStatus getStatus);
        using var arena = new Arena();
        var other = new RpcScopeEnvironment(arena);

        RpcScopeAllocator.SetThreadHandle(other);
        Memory<byte> inOther = RpcScopeAllocator.Allocate(16, out _);
        RpcScopeAllocator.SetThreadHandle(saved);

        Assert.Equal(RpcStatus.Ok, getStatus);
        Assert.Same(saved, RpcScopeAllocator.GetThreadHandle(out _));
        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.Free(inOther));
        Assert.Equal(RpcStatus.Ok, other.Free(inOther));
    }

    [Fact]
    public void GetThreadHandle_WithoutEnvironment_ReturnsNullAndNoEnvironment()
    {
        RpcScopeEnvironment? handle = RpcScopeAllocator.GetThreadHandle(out RpcStatus status);

        Assert.Null(handle);
        Assert.Equal(RpcStatus.NoEnvironment, status);
    }

    [Fact]
    public void SetThreadHandle_Released_ReturnsInvalidArgAndChangesNothing()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment? current = RpcScopeAllocator.GetThreadHandle(out _);
        var arena = new Arena();
        var released = new RpcScopeEnvironment(arena);
        arena.Dispose();

        Assert.Equal(RpcStatus.InvalidArg, RpcScopeAllocator.SetThreadHandle(released));
        Assert.Same(current, RpcScopeAllocator.GetThreadHandle(out _));
    }

    [Fact]
    public void SetThreadHandle_Null_ClearsTheFlowsEnvironment()
    {
        using var arena = new Arena();
        RpcScopeAllocator.SetThreadHandle(new RpcScopeEnvironment(arena));

        Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.SetThreadHandle(null));
        RpcScopeAllocator.Allocate(8, out RpcStatus status);
        Assert.Equal(RpcStatus.NoEnvironment, status);
    }

    [Fact]
    public void Allocate_AfterAnotherThreadDisabled_ReturnsNoEnvironment()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment handle = RpcScopeAllocator.GetThreadHandle(out _)!;
        RpcScopeAllocator.Allocate(8, out _);
        var other = new Thread(() =>
        {
            RpcScopeAllocator.SetThreadHandle(handle);
            RpcScopeAllocator.DisableAllocate();
        });
        other.UnsafeStart();
        other.Join();

        Memory<byte> memory = RpcScopeAllocator.Allocate(8, out RpcStatus status);

        Assert.Equal(RpcStatus.NoEnvironment, status);
        Assert.True(memory.IsEmpty);
        Assert.Equal(RpcStatus.NoEnvironment, RpcScopeAllocator.Free(new byte[16].AsMemory(8)));
    }

    [Fact]
    public void SharedHandle_ManyThreadsAllocateAndFreeAtOnce_AllSucceedWithoutOverlap()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment handle = RpcScopeAllocator.GetThreadHandle(out _)!;
        const int Threads = 4;
        const int PerThread = 3000;
        var allocated = new ConcurrentQueue<(Memory<byte> Memory, byte Fill)>();
        var failures = new ConcurrentQueue<string>();
        using var start = new Barrier(Threads);

        Thread[] threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            RpcScopeAllocator.SetThreadHandle(handle);
            start.SignalAndWait();
            for (int i = 0; i < PerThread; i++)
            {
                byte fill = (byte)(t * 50 + (i % 50) + 1);
                Memory<byte> memory = RpcScopeAllocator.Allocate(1 + (i % 200), out RpcStatus status);
                if (status != RpcStatus.Ok)
                {
                    failures.Enqueue($"allocate {status}");
                    continue;
                }

                memory.Span.Fill(fill);
                allocated.Enqueue((memory, fill));

                // Free blocks other threads allocated, while they keep allocating.
                if (allocated.TryDequeue(out var victim))
                {
                    if (victim.Memory.Span.IndexOfAnyExcept(victim.Fill) >= 0)
                    {
                        failures.Enqueue("overlap");
                    }

                    RpcStatus freed = RpcScopeAllocator.Free(victim.Memory);
                    if (freed != RpcStatus.Ok)
                    {
                        failures.Enqueue($"free {freed}");
                    }
                }
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.UnsafeStart();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.Empty(failures);
        Assert.Empty(allocated);
    }

    [Fact]
    public void SameBlockFreedByManyThreadsAtOnce_ExactlyOneSucceeds()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment handle = RpcScopeAllocator.GetThreadHandle(out _)!;
        for (int round = 0; round < 200; round++)
        {
            Memory<byte> memory = RpcScopeAllocator.Allocate(32, out _);
            int ok = 0;
            Parallel.For(0, 4, _ =>
            {
                RpcScopeAllocator.SetThreadHandle(handle);
                if (RpcScopeAllocator.Free(memory) == RpcStatus.Ok)
                {
                    Interlocked.Increment(ref ok);
                }
            });

            Assert.Equal(1, ok);
        }
    }

    [Fact]
    public async Task EnableInsideAsyncMethod_IsNotSeenByTheCaller()
    {
        await EnableAsync();

        RpcScopeAllocator.Allocate(8, out RpcStatus status);

        Assert.Equal(RpcStatus.NoEnvironment, status);

        static async Task EnableAsync()
        {
            RpcScopeAllocator.EnableAllocate();
            RpcScopeEnvironment? environment = RpcScopeAllocator.GetThreadHandle(out _);
            await Task.Yield();
            RpcScopeAllocator.DisableAllocate();
            Assert.True(environment!.IsReleased);
        }
    }

    [Fact]
    public void RpcStatus_ValuesAreTheWindowsCodes()
    {
        Assert.Equal(0, (int)RpcStatus.Ok);
        Assert.Equal(14, (int)RpcStatus.OutOfMemory);
        Assert.Equal(87, (int)RpcStatus.InvalidArg);
        Assert.Equal(288, (int)RpcStatus.NotOwner);
        Assert.Equal(1247, (int)RpcStatus.AlreadyInitialized);
        Assert.Equal(1765, (int)RpcStatus.NoEnvironment);
    }

    [Fact]
    public void Allocate_MemoryIsWritableThroughPointer()
    {
        RpcScopeAllocator.EnableAllocate();
        Memory<byte> memory = RpcScopeAllocator.Allocate(16, out _);

        MemoryMarshal.Write(memory.Span, 0x0102030405060708L);

        Assert.Equal(0x0102030405060708L, MemoryMarshal.Read<long>(memory.Span));
    }

    [Fact]
    public void TwoFlowsOnOneThread_AlternatingAllocations_EachLandsInItsOwnFlowsEnvironment()
    {
        // Two flows (execution contexts) with different environments, run in turns on one thread: the fast path's
        // chunk is this thread's for both, so only the flow check keeps their blocks apart.
        using var firstArena = new Arena();
        using var secondArena = new Arena();
        var first = new RpcScopeEnvironment(firstArena);
        var second = new RpcScopeEnvironment(secondArena);
        ExecutionContext firstFlow = CaptureFlowWith(first);
        ExecutionContext secondFlow = CaptureFlowWith(second);
        var blocks = new List<(RpcScopeEnvironment Owner, Memory<byte> Memory)>();

        for (int i = 0; i < 400; i++)
        {
            // Runs of several allocations per flow, so each flow also takes its fast path, not only slow ones.
            bool useFirst = (i / 5) % 2 == 0;
            RpcScopeEnvironment owner = useFirst ? first : second;
            ExecutionContext.Run(useFirst ? firstFlow : secondFlow, _ =>
            {
                Memory<byte> memory = RpcScopeAllocator.Allocate(16, out RpcStatus status);
                Assert.Equal(RpcStatus.Ok, status);
                blocks.Add((owner, memory));
            }, null);
        }

        foreach ((RpcScopeEnvironment owner, Memory<byte> memory) in blocks)
        {
            RpcScopeEnvironment other = owner == first ? second : first;
            Assert.Equal(RpcStatus.InvalidArg, other.Free(memory));
            Assert.Equal(RpcStatus.Ok, owner.Free(memory));
        }
    }

    [Fact]
    public void FlowChangingItsEnvironment_NextAllocationUsesTheNewOne()
    {
        using var firstArena = new Arena();
        using var secondArena = new Arena();
        var first = new RpcScopeEnvironment(firstArena);
        var second = new RpcScopeEnvironment(secondArena);

        RpcScopeAllocator.SetThreadHandle(first);
        Memory<byte> a = RpcScopeAllocator.Allocate(8, out _);
        Memory<byte> b = RpcScopeAllocator.Allocate(8, out _);
        RpcScopeAllocator.SetThreadHandle(second);
        Memory<byte> c = RpcScopeAllocator.Allocate(8, out _);
        RpcScopeAllocator.SetThreadHandle(first);
        Memory<byte> d = RpcScopeAllocator.Allocate(8, out _);

        Assert.Equal(RpcStatus.Ok, first.Free(a));
        Assert.Equal(RpcStatus.Ok, first.Free(b));
        Assert.Equal(RpcStatus.Ok, second.Free(c));
        Assert.Equal(RpcStatus.Ok, first.Free(d));
    }

    [Fact]
    public void TwoThreadsOnOneEnvironment_InterleavedAllocations_DoNotOverlapAndAllFree()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment handle = RpcScopeAllocator.GetThreadHandle(out _)!;

        // Started without the test's execution context, so each thread only has the environment it is handed.
        TakingTurns.Run(
            static thread => thread.UnsafeStart(),
            () =>
            {
                Memory<byte> memory = RpcScopeAllocator.Allocate(24, out RpcStatus status);
                Assert.Equal(RpcStatus.Ok, status);
                return memory;
            },
            handle.Free,
            onThreadStart: () => RpcScopeAllocator.SetThreadHandle(handle));
    }

    [Fact]
    public void Allocate_WithFlowSuppressed_StillUsesTheFlowsEnvironment()
    {
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment handle = RpcScopeAllocator.GetThreadHandle(out _)!;

        using (ExecutionContext.SuppressFlow())
        {
            for (int i = 0; i < 20; i++)
            {
                Memory<byte> memory = RpcScopeAllocator.Allocate(8, out RpcStatus status);
                Assert.Equal(RpcStatus.Ok, status);
                Assert.Equal(RpcStatus.Ok, handle.Free(memory));
            }
        }
    }

    [Fact]
    public void Allocate_WithFlowSuppressed_NeverUsesAnotherEnvironmentsChunk()
    {
        // Two requests in turn on one thread, each allocating with flow suppressed: the first leaves this thread's last
        // chunk in its environment with room to spare, and a suppressed flow has no context to tell the two apart.
        using var firstArena = new Arena();
        using var secondArena = new Arena();
        var first = new RpcScopeEnvironment(firstArena);
        var second = new RpcScopeEnvironment(secondArena);

        RpcScopeAllocator.SetThreadHandle(first);
        Memory<byte> firsts = AllocateWithFlowSuppressed(32, out _);

        RpcScopeAllocator.SetThreadHandle(second);
        Memory<byte> seconds = AllocateWithFlowSuppressed(32, out RpcStatus status);

        Assert.Equal(RpcStatus.Ok, status);
        Assert.Equal(RpcStatus.InvalidArg, first.Free(seconds));
        Assert.Equal(RpcStatus.Ok, second.Free(seconds));
        Assert.Equal(RpcStatus.Ok, first.Free(firsts));
    }

    [Fact]
    public void Allocate_WithFlowSuppressedAndNoEnvironment_ReturnsNoEnvironmentAfterADirectAllocate()
    {
        // A direct Allocate leaves this thread's last chunk without a flow and with room to spare.
        using var arena = new Arena();
        var environment = new RpcScopeEnvironment(arena);
        environment.Allocate(16, out _);

        Memory<byte> memory = AllocateWithFlowSuppressed(16, out RpcStatus status);

        Assert.Equal(RpcStatus.NoEnvironment, status);
        Assert.True(memory.IsEmpty);
    }

    [Fact]
    public void Allocate_WithFlowSuppressed_AfterADirectAllocateInAnotherEnvironment_UsesTheFlowsEnvironment()
    {
        using var otherArena = new Arena();
        var other = new RpcScopeEnvironment(otherArena);
        RpcScopeAllocator.EnableAllocate();
        RpcScopeEnvironment mine = RpcScopeAllocator.GetThreadHandle(out _)!;
        other.Allocate(16, out _);

        Memory<byte> memory = AllocateWithFlowSuppressed(16, out RpcStatus status);

        Assert.Equal(RpcStatus.Ok, status);
        Assert.Equal(RpcStatus.InvalidArg, other.Free(memory));
        Assert.Equal(RpcStatus.Ok, mine.Free(memory));
    }

    [Fact]
    public void Allocate_AfterTheEnvironmentWasDisposedOnItsFastPath_ReturnsNoEnvironment()
    {
        using var arena = new Arena();
        var environment = new RpcScopeEnvironment(arena);
        RpcScopeAllocator.SetThreadHandle(environment);
        RpcScopeAllocator.Allocate(8, out _);
        RpcScopeAllocator.Allocate(8, out _);

        environment.Dispose();

        Memory<byte> memory = RpcScopeAllocator.Allocate(8, out RpcStatus status);
        Assert.Equal(RpcStatus.NoEnvironment, status);
        Assert.True(memory.IsEmpty);
    }

    private static ExecutionContext CaptureFlowWith(RpcScopeEnvironment environment)
    {
        ExecutionContext? flow = null;
        var thread = new Thread(() =>
        {
            RpcScopeAllocator.SetThreadHandle(environment);
            flow = ExecutionContext.Capture();
        });
        thread.UnsafeStart();
        thread.Join();
        return flow!;
    }

    // The ambient allocation as a flow with no execution context makes it.
    private static Memory<byte> AllocateWithFlowSuppressed(int size, out RpcStatus status)
    {
        using (ExecutionContext.SuppressFlow())
        {
            return RpcScopeAllocator.Allocate(size, out status);
        }
    }
}
