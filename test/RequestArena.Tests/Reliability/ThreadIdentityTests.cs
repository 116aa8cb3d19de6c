using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RequestArena.Adapters;

namespace RequestArena.Tests.Reliability;

// Whatever identifies a thread on the fast path must stay exact as threads of any stack size come and go: a thread with
// a large stack that allocated and exited leaves a stack range that several later, smaller threads are mapped into.
public class ThreadIdentityTests
{
    private const int LaterThreads = 14;
    private const int PerThread = 20_000;

    // Two threads must run at the same moment for a shared chunk to show; on a busy two-core machine a longer run
    // makes that near certain.
    private const int PerNativeThread = 200_000;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DeadLargeStackOwner_LaterThreadsOfMixedStacks_NeverShareAChunk(bool resetInBetween)
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);

        // The large-stack thread takes a chunk with room left and exits mid-cycle.
        var big = new Thread(() => arena.AllocateMemory(16).Span.Fill(0xEE), maxStackSize: 64 * 1024 * 1024);
        big.Start();
        big.Join();
        if (resetInBetween)
        {
            // A pooled arena reused across Reset keeps its chunk list; the dead thread's chunk must not come back.
            arena.Reset();
            var again = new Thread(() => arena.AllocateMemory(16), maxStackSize: 64 * 1024 * 1024);
            again.Start();
            again.Join();
        }

        AssertNoOverlap(arena, LaterThreads, i => i % 3 == 0 ? 256 * 1024 : i % 3 == 1 ? 0 : 1024 * 1024);
    }

    // The layout the operating system produces by chance (a large stack unmapped, smaller ones mapped into its range)
    // made deterministic: native threads whose stacks the test places, the later two inside the first one's range.
    [Fact]
    public unsafe void NativeThreadsInsideADeadThreadsStack_NeverShareItsChunk()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        const int region = 64 * 1024 * 1024;
        const int half = 16 * 1024 * 1024;
        byte* stack = (byte*)NativeMemory.AlignedAlloc(region, 1024 * 1024);
        try
        {
            using var pool = TestPools.Create();
            using var arena = new Arena(pool);

            // The first thread takes a chunk with room left and exits: its stack was the whole region.
            NativeThread.Run(stack, region, () => arena.AllocateMemory(16).Span.Fill(0xEE));

            // Two live threads whose stacks both lie inside the dead thread's range, allocating at the same time.
            var blocks = new Memory<byte>[2][];
            using var start = new Barrier(2);
            NativeThread first = NativeThread.Start(stack, half, () => Fill(arena, blocks, 0, start, PerNativeThread));
            NativeThread second = NativeThread.Start(stack + region / 2, half, () => Fill(arena, blocks, 1, start, PerNativeThread));
            first.Join();
            second.Join();
            AssertIntact(blocks);
        }
        finally
        {
            NativeMemory.AlignedFree(stack);
        }
    }

    // The RPC scope's chunks, on the ambient path: threads that run one flow (one execution context, as tasks started
    // from one request do) inside a dead thread's stack range.
    [Fact]
    public unsafe void RpcAmbient_NativeThreadsInsideADeadThreadsStack_NeverShareItsChunk()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        const int region = 64 * 1024 * 1024;
        const int quarter = 512 * 1024;
        byte* stack = (byte*)NativeMemory.AlignedAlloc(region, 1024 * 1024);
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        using var environment = new RpcScopeEnvironment(arena);
        try
        {
            ExecutionContext flow = FlowWith(environment);
            NativeThread.Run(stack, region, () => ExecutionContext.Run(flow, state => RpcScopeAllocator.Allocate(16, out _).Span.Fill(0xEE), null));

            var blocks = new Memory<byte>[2][];
            using var start = new Barrier(2);
            // Both in the top mebibyte of the dead range, where the dead thread's own frames were: any lookup keyed by
            // stack address that served the dead thread serves these two as well.
            NativeThread first = NativeThread.Start(stack + region - 2 * quarter, quarter, () => ExecutionContext.Run(flow, state => FillRpc(blocks, 0, start), null));
            NativeThread second = NativeThread.Start(stack + region - quarter, quarter, () => ExecutionContext.Run(flow, state => FillRpc(blocks, 1, start), null));
            first.Join();
            second.Join();
            AssertIntact(blocks);
        }
        finally
        {
            environment.Dispose();
            NativeMemory.AlignedFree(stack);
        }
    }

    [Fact]
    public async Task ThreadPoolAndDedicatedThreads_Interleaved_NeverShareAChunk()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        var blocks = new Memory<byte>[2][];
        using var start = new Barrier(2);
        Task onPool = Task.Run(() => Fill(arena, blocks, 0, start));
        var dedicated = new Thread(() => Fill(arena, blocks, 1, start), maxStackSize: 128 * 1024);
        dedicated.Start();
        await onPool;
        dedicated.Join();
        AssertIntact(blocks);
    }

    [Fact]
    public void ResetRacingAllocation_AfterThreadsStop_CountsNothingAndGrantsTheWholeQuota()
    {
        const long quota = 1 << 20;
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = quota });
        var deadline = DateTime.UtcNow.AddSeconds(3);
        int trials = 0;
        while (trials < 400 && DateTime.UtcNow < deadline)
        {
            trials++;
            using var stop = new ManualResetEventSlim();
            using var started = new ManualResetEventSlim();
            var allocator = new Thread(() =>
            {
                started.Set();
                while (!stop.IsSet)
                {
                    // A refusal here is the quota, not an error: the reset below gives the budget back.
                    arena.TryAllocateMemory(64, out _);
                }
            });
            allocator.Start();
            started.Wait();
            Thread.SpinWait(trials % 50 * 20);
            arena.Reset();
            stop.Set();
            allocator.Join();

            arena.Reset();
            Assert.Equal(0, arena.AllocatedBytes);
        }

        // Whatever a racing thread stored after a reset, none of it is charged now.
        Assert.True(arena.TryAllocateMemory((int)quota, out Memory<byte> all));
        Assert.Equal(quota, all.Length);
        Assert.Equal(quota, arena.AllocatedBytes);
    }

    [Fact]
    public void AllocateWithCycle_AfterReset_ThrowsAndChargesNothing()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        long cycle = arena.Cycle;
        Memory<byte> before = arena.AllocateMemory(32, cycle);
        arena.Reset();

        Assert.NotEqual(cycle, arena.Cycle);
        Assert.Throws<ObjectDisposedException>(() => arena.AllocateMemory(32, cycle));
        Assert.Throws<ObjectDisposedException>(() => before.Span.Length);
        Assert.Equal(0, arena.AllocatedBytes);
        Assert.Equal(32, arena.AllocateMemory(32, arena.Cycle).Length);
    }

    [Fact]
    public void TryAllocateWithCycle_AfterReset_ThrowsAndChargesNothing()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool, new ArenaOptions { MaxBytes = 64 });
        long cycle = arena.Cycle;
        Assert.True(arena.TryAllocateMemory(32, cycle, out _));
        Assert.False(arena.TryAllocateMemory(33, cycle, out Memory<byte> refused));
        Assert.True(refused.IsEmpty);
        arena.Reset();

        Assert.Throws<ObjectDisposedException>(() => arena.TryAllocateMemory(32, cycle, out _));
        Assert.Throws<ObjectDisposedException>(() => arena.TryAllocateMemory(0, cycle, out _));
        Assert.Equal(0, arena.AllocatedBytes);
        Assert.False(arena.LimitExceeded);
        Assert.True(arena.TryAllocateMemory(64, arena.Cycle, out Memory<byte> all));
        Assert.Equal(64, all.Length);
    }

    // A pooled arena's next cycle may run on the very thread that holds a caller of the old one: the thread's chunk
    // then has room again, and the old caller must still be refused, on the fast path as on the slow one.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AllocateWithCycle_AfterTheSameThreadAllocatedInTheNextCycle_ThrowsAndChargesNothing(bool throughTry)
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        long cycle = arena.Cycle;
        arena.AllocateMemory(32, cycle);
        arena.Reset();
        arena.AllocateMemory(32);

        Assert.Throws<ObjectDisposedException>(() => throughTry ? arena.TryAllocateMemory(32, cycle, out _) : arena.AllocateMemory(32, cycle).Length > 0);
        Assert.Equal(32, arena.AllocatedBytes);
    }

    [Fact]
    public void AllocateWithCycle_OfAnotherArena_Throws()
    {
        using var pool = TestPools.Create();
        using var first = new Arena(pool);
        using var second = new Arena(pool);

        // Cycle ids are process-wide, so a handle that read one arena's cycle cannot pass another arena's check.
        Assert.NotEqual(first.Cycle, second.Cycle);
        Assert.Throws<ObjectDisposedException>(() => second.AllocateMemory(32, first.Cycle));
    }

    // -1 is the arena's own "unbound" value and 0 comes before the first cycle: neither may let a bound caller through.
    [Theory]
    [InlineData(-1L, 32)]
    [InlineData(-1L, 0)]
    [InlineData(0L, 32)]
    [InlineData(long.MinValue, 32)]
    [InlineData(long.MaxValue, 32)]
    public void AllocateWithCycle_NoCycleOfTheArena_ThrowsAndChargesNothing(long cycle, int size)
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);

        // The thread's chunk has room, so the fast paths are the ones asked first.
        arena.AllocateMemory(32);
        ArenaCursor cursor = arena.CreateCursor(cycle);

        Assert.Throws<ObjectDisposedException>(() => arena.AllocateMemory(size, cycle).Length);
        Assert.Throws<ObjectDisposedException>(() => arena.TryAllocateMemory(size, cycle, out _));
        CursorAssert.Throws<ObjectDisposedException>(ref cursor, size);
        Assert.Equal(32, arena.AllocatedBytes);
        Assert.False(arena.LimitExceeded);
    }

    // The request's handle skips the cycle compare on the fast path (it drops the arena before the release); what the
    // release leaves it, a killed chunk, still sends it to the miss path, which refuses the ended cycle on this thread and
    // on one that never allocated, and charges nothing to the cycle that followed.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AllocateMemoryWhileHeld_AfterTheCycleEnded_ThrowsAndChargesTheNextCycleNothing(bool otherThread)
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        long cycle = arena.Cycle;
        Assert.Equal(32, arena.AllocateMemoryWhileHeld(32, cycle).Length);
        arena.Reset();

        Exception? thrown = null;
        void Call() => thrown = Record.Exception(() => arena.AllocateMemoryWhileHeld(32, cycle));
        if (otherThread)
        {
            var thread = new Thread(Call);
            thread.Start();
            thread.Join();
        }
        else
        {
            Call();
        }

        Assert.IsType<ObjectDisposedException>(thrown);
        Assert.Equal(0, arena.AllocatedBytes);
        Assert.Equal(16, arena.AllocateMemoryWhileHeld(16, arena.Cycle).Length);
        Assert.Equal(16, arena.AllocatedBytes);
    }

    private static void AssertNoOverlap(Arena arena, int threads, Func<int, int> stackSize)
    {
        var blocks = new Memory<byte>[threads][];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads)
            .Select(t => new Thread(() => Fill(arena, blocks, t, start), stackSize(t)))
            .ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        AssertIntact(blocks);
    }

    private static void Fill(Arena arena, Memory<byte>[][] blocks, int t, Barrier start, int count = PerThread) =>
        Fill(() => arena.AllocateMemory(16), blocks, t, start, count);

    // Each thread takes `count` blocks and fills every one with its own byte, for AssertIntact to check.
    private static void Fill(Func<Memory<byte>> allocate, Memory<byte>[][] blocks, int t, Barrier start, int count)
    {
        var mine = blocks[t] = new Memory<byte>[count];
        start.SignalAndWait();
        for (int i = 0; i < count; i++)
        {
            Memory<byte> memory = allocate();
            memory.Span.Fill((byte)(t + 1));
            mine[i] = memory;
        }
    }

    // A flow whose ambient RPC environment is `environment`, captured once so every thread runs the same context.
    private static ExecutionContext FlowWith(RpcScopeEnvironment environment)
    {
        ExecutionContext? flow = null;
        var capture = new Thread(() =>
        {
            Assert.Equal(RpcStatus.Ok, RpcScopeAllocator.SetThreadHandle(environment));
            flow = ExecutionContext.Capture();
        });
        capture.Start();
        capture.Join();
        return flow!;
    }

    private static void FillRpc(Memory<byte>[][] blocks, int t, Barrier start) =>
        Fill(
            static () =>
            {
                Memory<byte> memory = RpcScopeAllocator.Allocate(16, out RpcStatus status);
                Assert.Equal(RpcStatus.Ok, status);
                return memory;
            },
            blocks,
            t,
            start,
            PerNativeThread);

    private static void AssertIntact(Memory<byte>[][] blocks)
    {
        for (int t = 0; t < blocks.Length; t++)
        {
            int overwritten = blocks[t].Count(m => m.Span.IndexOfAnyExcept((byte)(t + 1)) >= 0);
            Assert.True(overwritten == 0, $"thread {t}: {overwritten} of {blocks[t].Length} allocations overwritten by another thread");
        }
    }

    // A thread created by native code (pthread_create) on a stack the caller provides, running managed code.
    private sealed unsafe class NativeThread
    {
        private readonly nint _handle;
        private GCHandle _work;

        private NativeThread(nint handle, GCHandle work)
        {
            _handle = handle;
            _work = work;
        }

        public static void Run(byte* stack, int size, Action work) => Start(stack, size, work).Join();

        public static NativeThread Start(byte* stack, int size, Action work)
        {
            GCHandle handle = GCHandle.Alloc(work);
            byte* attr = stackalloc byte[256];
            Assert.Equal(0, pthread_attr_init(attr));
            Assert.Equal(0, pthread_attr_setstack(attr, stack, (nuint)size));
            nint thread;
            int created = pthread_create(&thread, attr, &ThreadStart, GCHandle.ToIntPtr(handle));
            pthread_attr_destroy(attr);
            Assert.Equal(0, created);
            return new NativeThread(thread, handle);
        }

        public void Join()
        {
            Assert.Equal(0, pthread_join(_handle, null));
            _work.Free();
        }

        [UnmanagedCallersOnly]
        private static nint ThreadStart(nint work)
        {
            ((Action)GCHandle.FromIntPtr(work).Target!)();
            return 0;
        }

        [DllImport("libc", EntryPoint = "pthread_attr_init")]
        private static extern int pthread_attr_init(byte* attr);

        [DllImport("libc", EntryPoint = "pthread_attr_setstack")]
        private static extern int pthread_attr_setstack(byte* attr, void* stack, nuint size);

        [DllImport("libc", EntryPoint = "pthread_attr_destroy")]
        private static extern int pthread_attr_destroy(byte* attr);

        [DllImport("libc", EntryPoint = "pthread_create")]
        private static extern int pthread_create(nint* thread, byte* attr, delegate* unmanaged<nint, nint> start, nint arg);

        [DllImport("libc", EntryPoint = "pthread_join")]
        private static extern int pthread_join(nint thread, void* result);
    }
}
