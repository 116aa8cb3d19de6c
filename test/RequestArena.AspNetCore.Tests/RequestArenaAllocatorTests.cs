using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests;

/// <summary>The internal per-request allocator: release semantics that no pipeline test can reach precisely.</summary>
public sealed class RequestArenaAllocatorTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddRequestArena().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    private RequestArenaRuntime Runtime => _services.GetRequiredService<RequestArenaRuntime>();

    private RequestArenaStatistics Statistics => _services.GetRequiredService<RequestArenaStatistics>();

    [Fact]
    public void Release_Twice_RecordsTheRequestOnce()
    {
        var allocator = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        allocator.AllocateMemory(100);

        allocator.Release();
        allocator.Release();

        Assert.Equal(1, Statistics.GetSnapshot().Requests);
        Assert.Equal(0, Statistics.GetSnapshot().Pool.SlabsInUse);
    }

    // The cycle ends only once its cleanups have run, so memory a cursor of the cycle takes meanwhile (on another thread)
    // is the request's too: the slabs it rents are counted with the request's, not lost from the figures.
    [Fact]
    public void Release_SlabsRentedByACursorWhileTheCleanupsRun_AreCountedWithTheRequest()
    {
        var allocator = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        allocator.AllocateMemory(16);
        using var ready = new ManualResetEventSlim();
        using var go = new ManualResetEventSlim();
        using var done = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            ArenaCursor cursor = allocator.CreateCursor();
            ready.Set();
            go.Wait(TimeSpan.FromSeconds(10));
            for (int i = 0; i < 64; i++)
            {
                cursor.AllocateMemory(8000);
            }

            done.Set();
        });
        thread.Start();
        Assert.True(ready.Wait(TimeSpan.FromSeconds(10)));
        allocator.RegisterForCleanup(new Callback(() =>
        {
            go.Set();
            done.Wait(TimeSpan.FromSeconds(10));
        }));

        allocator.Release();
        thread.Join();

        RequestArenaStatisticsSnapshot snapshot = Statistics.GetSnapshot();
        Assert.True(done.IsSet);
        Assert.Equal(snapshot.Pool.SlabsRented + snapshot.Pool.OversizeRented, snapshot.SlabsRented);
        Assert.True(snapshot.SlabsRented >= 64 * 8000 / RequestArenaOptions.DefaultSlabSize);
        Assert.Equal(0, snapshot.Pool.SlabsInUse);
    }

    [Fact]
    public void Release_NeverAllocated_RecordsNothing()
    {
        var allocator = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);

        allocator.Release();

        Assert.Equal(0, Statistics.GetSnapshot().Requests);
        Assert.Throws<ObjectDisposedException>(() => allocator.AllocateMemory(1));
    }

    [Fact]
    public void AllocateMemory_AfterRelease_ThrowsAndLeavesTheNextRequestsArenaAlone()
    {
        var first = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        first.AllocateMemory(64);
        first.Release();

        // The next request gets the same pooled arena back.
        var second = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        second.AllocateMemory(32);

        Assert.Throws<ObjectDisposedException>(() => first.AllocateMemory(1000));
        Assert.Equal(32, second.AllocatedBytes);
        second.Release();
    }

    [Fact]
    public void CreateCursor_AfterRelease_Throws()
    {
        var allocator = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        allocator.AllocateMemory(8);
        allocator.Release();

        Assert.Throws<ObjectDisposedException>(() => allocator.CreateCursor());
    }

    // The pooled arena serves the next request on this same thread, so this thread's chunk has room again; a cursor of
    // the ended request must still be refused and charge nothing.
    [Fact]
    public void CreateCursor_CursorUsedAfterItsRequest_ThrowsAndLeavesTheNextRequestsArenaAlone()
    {
        var first = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        ArenaCursor cursor = first.CreateCursor();
        cursor.AllocateMemory(64);
        Assert.Equal(64, first.AllocatedBytes);
        first.Release();

        var second = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        second.AllocateMemory(32);

        bool refused;
        try
        {
            cursor.AllocateMemory(1000);
            refused = false;
        }
        catch (ObjectDisposedException)
        {
            refused = true;
        }

        Assert.True(refused);
        Assert.Equal(32, second.AllocatedBytes);
        second.Release();
        Assert.Equal(96, Statistics.GetSnapshot().TotalBytes);
    }

    // Adapters charge native blocks through the handle and answer with their own status; a charge that arrives after
    // the release (before the release has reached the adapter) is refused as a disposed arena refuses it, with false.
    [Fact]
    public void TryChargeHeld_AfterRelease_ReturnsFalseAndChargesNoArena()
    {
        var first = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 1024);
        first.AllocateMemory(64);
        IQuotaSource firstQuota = first;
        Assert.True(firstQuota.TryChargeHeld(100));
        first.Release();

        // The next request gets the same pooled arena back.
        var second = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 1024);
        second.AllocateMemory(32);
        Arena arena = second.GetOrRentArena();
        long held = arena.HeldBytes;

        Assert.False(firstQuota.TryChargeHeld(100));
        Assert.Equal(held, arena.HeldBytes);
        second.Release();
    }

    [Fact]
    public void AllocateMemory_OverLimit_ThrowsAndCountsOnceAtRelease()
    {
        var allocator = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 100);

        Assert.Throws<ArenaLimitExceededException>(() => allocator.AllocateMemory(101));
        Assert.Throws<ArenaLimitExceededException>(() => allocator.AllocateMemory(200));
        Assert.Equal(100, allocator.AllocateMemory(100).Length);
        allocator.Release();

        Assert.Equal(1, Statistics.GetSnapshot().LimitExceeded);
    }

    [Fact]
    public void TryAllocateMemory_OverLimit_ReturnsFalseAndStaysUsable()
    {
        IArenaAllocator allocator = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 100);

        Assert.False(allocator.TryAllocateMemory(101, out Memory<byte> refused));
        Assert.True(refused.IsEmpty);
        Assert.True(allocator.TryAllocateMemory(100, out Memory<byte> memory));
        Assert.Equal(100, memory.Length);
        Assert.False(allocator.TryAllocateMemory(1, out _));
        ((RequestArenaAllocator)allocator).Release();

        Assert.Equal(1, Statistics.GetSnapshot().LimitExceeded);
    }

    [Fact]
    public void TryAllocateMemory_AfterRelease_ThrowsAndLeavesTheNextRequestsArenaAlone()
    {
        var first = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        first.AllocateMemory(64);
        first.Release();
        var second = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        second.AllocateMemory(32);

        Assert.Throws<ObjectDisposedException>(() => first.TryAllocateMemory(1000, out _));
        Assert.Throws<ObjectDisposedException>(() => first.TryAllocateMemory(0, out _));
        Assert.Equal(32, second.AllocatedBytes);
        second.Release();
    }

    [Fact]
    public void TryAllocateMemory_BeforeAnyAllocation_RentsTheRequestsArena()
    {
        var allocator = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);

        Assert.True(allocator.TryAllocateMemory(48, out Memory<byte> memory));

        Assert.Equal(48, memory.Length);
        Assert.Equal(48, allocator.AllocatedBytes);
        allocator.Release();
        Assert.True(Released.Is(memory));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ZeroMemory_IsTheApplicationsOption(bool zero)
    {
        using ServiceProvider services = new ServiceCollection().AddRequestArena(o => o.ZeroMemory = zero).BuildServiceProvider();
        var allocator = new RequestArenaAllocator(services.GetRequiredService<RequestArenaRuntime>(), new DefaultHttpContext(), endpoint: null, maxBytes: 0);

        Assert.Equal(zero, allocator.ZeroMemory);
    }

    [Fact]
    public void Suspend_ThenResume_SameAllocatorFreshMemoryNewLimit()
    {
        var allocator = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 10);
        Memory<byte> before = allocator.AllocateMemory(10);

        allocator.Suspend();
        Assert.True(Released.Is(before));
        Assert.Throws<ObjectDisposedException>(() => allocator.AllocateMemory(1));

        Assert.True(allocator.TryResume(endpoint: null, maxBytes: 1000));
        Assert.Equal(500, allocator.AllocateMemory(500).Length);
        allocator.Release();

        Assert.False(allocator.TryResume(endpoint: null, maxBytes: 0));

        // One request, measured once: at its first pass's release, with that pass's bytes.
        RequestArenaStatisticsSnapshot snapshot = Statistics.GetSnapshot();
        Assert.Equal(1, snapshot.Requests);
        Assert.Equal(10, snapshot.TotalBytes);
    }

    [Fact]
    public void AllocateMemory_ManyThreads_RegionsNeverOverlap()
    {
        var allocator = new RequestArenaAllocator(Runtime, new DefaultHttpContext(), endpoint: null, maxBytes: 0);
        var memories = new Memory<byte>[4][];

        Parallel.For(0, 4, thread =>
        {
            memories[thread] = new Memory<byte>[500];
            for (int i = 0; i < 500; i++)
            {
                Memory<byte> memory = allocator.AllocateMemory(48);
                memory.Span.Fill((byte)(thread + 1));
                memories[thread][i] = memory;
            }
        });

        for (int thread = 0; thread < 4; thread++)
        {
            Assert.All(memories[thread], m => Assert.False(m.Span.ContainsAnyExcept((byte)(thread + 1))));
        }

        allocator.Release();
    }

    private sealed class Callback(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
