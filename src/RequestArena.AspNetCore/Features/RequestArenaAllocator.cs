using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;

namespace RequestArena.AspNetCore;

// The object a request sees as its IModuleAllocator. One per request that asks for its arena, never reused, so a
// handle captured past the request can only fail: it never reaches the pooled Arena once that serves another request.
//
// Deliberately not IDisposable: the request's DI scope disposes the IDisposable scoped services it created, and the
// arena's lifetime belongs to the middleware alone (release after the response has been sent).
internal sealed class RequestArenaAllocator : IModuleAllocator
{
    private readonly RequestArenaRuntime _runtime;
    private readonly Endpoint? _endpoint;
    private readonly long _maxBytes;

    private Arena? _arena;            // rented at the first allocation, so asking for the allocator costs no arena
    private long _slabsAtRent;
    private volatile bool _released;
    private volatile bool _limitExceeded;

    public RequestArenaAllocator(RequestArenaRuntime runtime, Endpoint? endpoint, long maxBytes)
    {
        _runtime = runtime;
        _endpoint = endpoint;
        _maxBytes = maxBytes;
    }

    public long MaxBytes => _maxBytes;

    public bool IsReleased => _released;

    public bool HasArena => Volatile.Read(ref _arena) is not null;

    public long AllocatedBytes => Volatile.Read(ref _arena)?.AllocatedBytes ?? 0;

    public Endpoint? Endpoint => _endpoint;

    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        Arena arena = Volatile.Read(ref _arena) ?? RentArena();
        Memory<byte> memory;
        try
        {
            memory = arena.AllocateMemory(cbAllocation);
        }
        catch (ArenaLimitExceededException)
        {
            _limitExceeded = true;
            throw;
        }

        // Release may have run between reading _arena and allocating, and the arena may already serve another
        // request: the memory is then not ours to hand out. Release sets _released before the arena goes back to
        // the pool, so this read sees it whenever that happened.
        if (_released)
        {
            ThrowReleased();
        }

        return memory;
    }

    // Idempotent: the OnCompleted callback, the middleware's exception path and a re-executed pipeline may all call it.
    public void Release()
    {
        Arena? arena;
        lock (this)
        {
            if (_released)
            {
                return;
            }

            _released = true;
            arena = _arena;
            _arena = null;
        }

        if (arena is null)
        {
            return;
        }

        long allocated = arena.AllocatedBytes;
        long slabs = arena.SlabsRented - _slabsAtRent;
        try
        {
            _runtime.ArenaPool.Return(arena);
        }
        catch (AggregateException ex)
        {
            // Return has already reset and pooled the arena; a failing cleanup must not fail the request's completion.
            RequestArenaLog.CleanupFailed(_runtime.Logger, DisplayName, ex);
        }

        if (_limitExceeded)
        {
            _runtime.Metrics.LimitExceeded(_endpoint);
        }

        _runtime.Metrics.RequestReleased(allocated, slabs, _endpoint);
        RequestArenaLog.Released(_runtime.Logger, DisplayName, allocated, slabs);
    }

    // Called when a limit exception escapes the endpoint, so the request is counted once whoever noticed first.
    public void MarkLimitExceeded() => _limitExceeded = true;

    private string DisplayName => _endpoint?.DisplayName ?? "(no endpoint)";

    private Arena RentArena()
    {
        lock (this)
        {
            if (_released)
            {
                ThrowReleased();
            }

            if (_arena is { } existing)
            {
                return existing;
            }

            Arena arena = _runtime.ArenaPool.Rent();

            // Pooled arenas carry the previous request's quota: each request sets its own.
            arena.MaxBytes = _maxBytes;
            _slabsAtRent = arena.SlabsRented;
            Volatile.Write(ref _arena, arena);
            return arena;
        }
    }

    [DoesNotReturn]
    private static void ThrowReleased() =>
        throw new ObjectDisposedException(
            nameof(IModuleAllocator),
            "The request this arena belonged to has completed and its memory has been released. Keep the request's IModuleAllocator, and memory from it, only for the duration of the request.");
}
