using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;

namespace RequestArena.AspNetCore;

// The object a request sees as its IModuleAllocator: one per request that asks for its arena, never reused by another
// request, so a handle captured past its request can only fail; it never reaches the pooled Arena once that arena
// serves someone else.
//
// It lives as long as the request (the DI scope caches it as a scoped service), not as long as one pass through the
// middleware: when the endpoint throws, the middleware suspends it (the arena goes back at once, its memory dies), and
// a pipeline re-executed for the same request (UseExceptionHandler, status-code pages) resumes it, so scoped services
// that captured it keep working. The end of the response releases it for good.
//
// Deliberately not IDisposable: the request's DI scope disposes the IDisposable scoped services it created, and the
// arena's lifetime belongs to the middleware alone (release after the response has been sent).
internal sealed class RequestArenaAllocator : IModuleAllocator
{
    private const int Active = 0;
    private const int Suspended = 1;
    private const int Released = 2;

    private readonly RequestArenaRuntime _runtime;
    private Endpoint? _endpoint;
    private long _maxBytes;

    private Arena? _arena;            // rented at the first allocation, so asking for the allocator costs no arena
    private long _slabsAtRent;
    private volatile int _state;
    private volatile bool _limitExceeded;
    private int _allocating;          // calls of AllocateMemory in flight, so a release can wait for them

    public RequestArenaAllocator(RequestArenaRuntime runtime, Endpoint? endpoint, long maxBytes)
    {
        _runtime = runtime;
        _endpoint = endpoint;
        _maxBytes = maxBytes;
    }

    public long MaxBytes => Volatile.Read(ref _maxBytes);

    public bool IsReleased => _state == Released;

    public bool IsActive => _state == Active;

    public bool HasArena => Volatile.Read(ref _arena) is not null;

    public long AllocatedBytes => Volatile.Read(ref _arena)?.AllocatedBytes ?? 0;

    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        // Announce the allocation before looking at the state; Retire changes the state before looking at this count,
        // and both sides fence in between. So either this call sees the release and touches nothing, or the release
        // waits for it to finish before the arena goes back to the pool. Checking the state only after allocating is
        // not enough: by then a handle kept past its request may have allocated from the pooled arena while it sat
        // idle (a slab held with no request running) or after it was rented again (charged to the next request), or
        // raced the reset (an ArgumentOutOfRangeException instead of ObjectDisposedException).
        Interlocked.Increment(ref _allocating);
        try
        {
            if (_state != Active)
            {
                ThrowReleased();
            }

            Arena arena = Volatile.Read(ref _arena) ?? GetOrRentArena();
            try
            {
                return arena.AllocateMemory(cbAllocation);
            }
            catch (ArenaLimitExceededException)
            {
                _limitExceeded = true;
                throw;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _allocating);
        }
    }

    // The end of the request. Idempotent: OnCompleted and the middleware may both get here.
    public void Release() => Retire(Released);

    // The endpoint failed: give the memory back now (not every server runs OnCompleted when the pipeline fails).
    public void Suspend() => Retire(Suspended);

    // A re-executed pipeline picks the request's allocator up again, with the limit of the endpoint it now runs.
    public bool TryResume(Endpoint? endpoint, long maxBytes)
    {
        lock (this)
        {
            if (_state != Suspended)
            {
                return _state == Active;
            }

            _endpoint = endpoint;
            _maxBytes = maxBytes;
            _state = Active;
            return true;
        }
    }

    // Called when a limit exception escapes the endpoint, so the request is counted once whoever noticed first.
    public void MarkLimitExceeded() => _limitExceeded = true;

    private void Retire(int state)
    {
        Arena? arena;
        Endpoint? endpoint;
        lock (this)
        {
            if (_state == Released || _state == state)
            {
                return;
            }

            _state = state;
            arena = _arena;
            _arena = null;
            endpoint = _endpoint;
        }

        // Outside the lock: an allocation in flight may be waiting for it in GetOrRentArena.
        WaitForAllocationsInFlight();

        bool limitExceeded;
        lock (this)
        {
            limitExceeded = _limitExceeded;
            _limitExceeded = false;
        }

        if (arena is null)
        {
            return;
        }

        long allocated = arena.AllocatedBytes;
        long slabs = arena.SlabsRented - _slabsAtRent;
        string endpointName = endpoint?.DisplayName ?? "(no endpoint)";
        try
        {
            _runtime.ArenaPool.Return(arena);
        }
        catch (AggregateException ex)
        {
            // Return has already reset and pooled the arena; a failing cleanup must not fail the request's completion.
            RequestArenaLog.CleanupFailed(_runtime.Logger, endpointName, ex);
        }

        if (limitExceeded)
        {
            _runtime.Metrics.LimitExceeded(endpoint);
        }

        _runtime.Metrics.RequestReleased(allocated, slabs, endpoint);
        RequestArenaLog.Released(_runtime.Logger, endpointName, allocated, slabs);
    }

    // The other half of the handshake in AllocateMemory. The lock's exit does not keep the state change above from being
    // reordered after the read of the count, hence the full fence. Allocations are short and never wait for a release,
    // so this spins for at most one allocation, and only when a handle is used concurrently with its release.
    private void WaitForAllocationsInFlight()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _allocating) == 0)
        {
            return;
        }

        SpinWait spin = default;
        while (Volatile.Read(ref _allocating) != 0)
        {
            spin.SpinOnce();
        }
    }

    // The request's arena, rented now if it has none yet; refuses a request that has ended. The adapters hang off
    // the Arena itself (as its cleanups) so they are released exactly when its memory goes back.
    // Locking on the allocator itself (not a dedicated lock object) saves an allocation per request; the type is
    // internal, and only this class locks on its instances.
    public Arena GetOrRentArena()
    {
        lock (this)
        {
            if (_state != Active)
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
            "The request this arena belonged to has completed (or its endpoint failed) and its memory has been released. Keep the request's IModuleAllocator, and memory from it, only for the duration of the request.");
}
