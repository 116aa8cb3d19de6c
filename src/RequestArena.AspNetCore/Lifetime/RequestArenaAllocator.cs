using System.Runtime.CompilerServices;
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
// Allocation costs the arena's own fast path plus one field read: the handle holds no count of calls in flight.
// Instead the handle drops its arena, under its lock, before the release resets it, and each call that misses the
// arena's fast path passes the cycle the handle rented the arena in (Arena.AllocateMemoryWhileHeld). Release kills
// every chunk of the arena, so a call on a stale handle (kept past its request, or racing the release) finds no arena,
// or reaches the arena's gated slow path, which refuses an ended cycle; at worst a call racing the release gets memory
// of the ending cycle, whose lease is dead. So a kept handle never allocates from, nor charges, the arena's next
// request.
//
// Deliberately not IDisposable: the request's DI scope disposes the IDisposable scoped services it created, and the
// arena's lifetime belongs to the middleware alone (release after the response has been sent).
internal sealed class RequestArenaAllocator : IArenaAllocator, IQuotaSource
{
    private const int Active = 0;
    private const int Suspended = 1;
    private const int Released = 2;

    private readonly RequestArenaRuntime _runtime;
    private Endpoint? _endpoint;
    private long _maxBytes;

    private Arena? _arena;            // rented at the first allocation, so asking for the allocator costs no arena
    private long _cycle;              // the arena's cycle when it was rented for this request
    private long _slabsAtRent;
    private volatile int _state;
    private volatile bool _limitExceeded;
    private volatile bool _inPipeline;  // handed out by the request's feature and the middleware has not left yet
    private bool _measured;             // the request's bytes are in the metrics (its first pass that used an arena)

    public RequestArenaAllocator(RequestArenaRuntime runtime, HttpContext context, Endpoint? endpoint, long maxBytes)
    {
        _runtime = runtime;
        Context = context;
        _endpoint = endpoint;
        _maxBytes = maxBytes;
    }

    // The request's context; an allocator serves one request, so at any moment at most one active allocator names a
    // given context object, however often the server reuses it.
    public HttpContext Context { get; }

    // True while GetRequestArena may answer with this allocator for Context without asking the context's features: the
    // request is active and inside the middleware.
    public bool IsServing => _inPipeline && _state == Active;

    public void EnterPipeline() => _inPipeline = true;

    public void LeavePipeline() => _inPipeline = false;

    public long MaxBytes => Volatile.Read(ref _maxBytes);

    public bool IsReleased => _state == Released;

    public bool IsActive => _state == Active;

    public bool HasArena => Volatile.Read(ref _arena) is not null;

    public long AllocatedBytes => Volatile.Read(ref _arena)?.AllocatedBytes ?? 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        // _arena and _cycle are written together under the lock, _cycle first; a reader that sees this request's arena
        // sees its cycle (or, racing the release, the arena of an ended cycle, whose slow path refuses it).
        Arena? arena = Volatile.Read(ref _arena);
        if (arena is not null)
        {
            return arena.AllocateMemoryWhileHeld(cbAllocation, _cycle);
        }

        return AllocateMemoryFirst(cbAllocation);
    }

    // Bound to the request's cycle like AllocateMemory: a cursor still in use when the request ends is refused by the
    // arena, never served from its next request.
    public ArenaCursor CreateCursor()
    {
        lock (this)
        {
            return GetOrRentArenaLocked().CreateCursor(_cycle);
        }
    }

    // What every arena of the application's pool does, so it can be answered before the request rents one.
    public bool ZeroMemory => _runtime.ZeroMemory;

    // Bound to the request's cycle like AllocateMemory; rare enough (adapters' slow paths) to take the lock when the
    // request has no arena yet.
    public bool TryAllocateMemory(int cbAllocation, out Memory<byte> memory)
    {
        Arena? arena = Volatile.Read(ref _arena);
        long cycle = _cycle;
        if (arena is null)
        {
            lock (this)
            {
                arena = GetOrRentArenaLocked();
                cycle = _cycle;
            }
        }

        return arena.TryAllocateMemory(cbAllocation, cycle, out memory);
    }

    // Registers with the request's arena (renting it if the request has none yet), so whatever registers is disposed
    // before the arena's memory goes back: at the end of the request, or when its endpoint fails.
    public void RegisterForCleanup(IDisposable disposable)
    {
        ArgumentNullException.ThrowIfNull(disposable);
        lock (this)
        {
            Arena arena = GetOrRentArenaLocked();

            // Under the lock: a release cannot run between the check above and the registration.
            arena.RegisterForCleanup(disposable);
        }
    }

    // Under the lock, as RegisterForCleanup: a release between finding the arena and charging it would otherwise charge
    // whichever request the pooled arena serves next. An ended request is refused as a disposed arena refuses, with
    // false: the caller is an adapter answering with its own status, and the release that ended the request may not
    // have reached that adapter yet.
    bool IQuotaSource.TryChargeHeld(long bytes)
    {
        lock (this)
        {
            return _state == Active && ((IQuotaSource)GetOrRentArenaLocked()).TryChargeHeld(bytes);
        }
    }

    void IQuotaSource.ReleaseHeld(long bytes)
    {
        // After the release the arena serves another request and has forgotten this one's charges.
        lock (this)
        {
            if (_arena is IQuotaSource arena)
            {
                arena.ReleaseHeld(bytes);
            }
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Memory<byte> AllocateMemoryFirst(int cbAllocation)
    {
        Arena arena;
        long cycle;
        lock (this)
        {
            arena = GetOrRentArenaLocked();
            cycle = _cycle;
        }

        return arena.AllocateMemory(cbAllocation, cycle);
    }

    private void Retire(int state)
    {
        Arena? arena;
        Endpoint? endpoint;
        bool limitExceeded;
        bool measure;
        lock (this)
        {
            if (_state == Released || _state == state)
            {
                return;
            }

            _state = state;
            arena = _arena;

            // Before the arena goes back (and its cycle ends): the allocation fast path relies on it.
            _arena = null;
            endpoint = _endpoint;
            limitExceeded = _limitExceeded || arena?.LimitExceeded == true;
            _limitExceeded = false;

            // One measurement per request: a pipeline re-executed after a failed pass uses the same request's arena
            // again, and only the slabs it rents are counted then.
            measure = arena is not null && !_measured;
            _measured |= measure;
        }

        if (arena is null)
        {
            return;
        }

        long allocated = arena.AllocatedBytes;
        long slabsAtEnd = arena.SlabsRented;
        string endpointName = endpoint?.DisplayName ?? "(no endpoint)";
        try
        {
            // Resetting the arena ends its cycle: from here on, calls through this handle are refused by the arena. The
            // cycle ends only after its cleanups, and a cursor of it may rent slabs until then: the count is the one at
            // its end.
            _runtime.ArenaPool.Return(arena, out slabsAtEnd);
        }
        catch (AggregateException ex) when (!ThrowHelper.IsProviderFreeFailure(ex))
        {
            // Return has already reset and pooled the arena; a failing cleanup must not fail the request's completion.
            RequestArenaLog.CleanupFailed(_runtime.Logger, endpointName, ex);
        }
        catch (Exception ex)
        {
            // The slab provider's Free threw. The arena had let go of every slab and the pool offered the provider every
            // block, so nothing stays rented; the provider's failure must not fail the request's completion either.
            RequestArenaLog.SlabProviderFreeFailed(_runtime.Logger, endpointName, ex);
        }

        long slabs = slabsAtEnd - _slabsAtRent;
        if (limitExceeded)
        {
            _runtime.Metrics.LimitExceeded(endpoint);
        }

        if (measure)
        {
            _runtime.Metrics.RequestReleased(allocated, slabs, endpoint);
        }
        else
        {
            _runtime.Metrics.SlabsRented(slabs);
        }

        RequestArenaLog.Released(_runtime.Logger, endpointName, allocated, slabs);
    }

    // The request's arena, rented now if it has none yet; refuses a request that has ended.
    // Locking on the allocator itself (not a dedicated lock object) saves an allocation per request; the type is
    // internal, and only this class locks on its instances.
    public Arena GetOrRentArena()
    {
        lock (this)
        {
            return GetOrRentArenaLocked();
        }
    }

    private Arena GetOrRentArenaLocked()
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

        // The pool hands arenas out with its own quota; this request's endpoint may ask for another.
        arena.MaxBytes = _maxBytes;
        _slabsAtRent = arena.SlabsRented;
        _cycle = arena.Cycle;
        Volatile.Write(ref _arena, arena);
        return arena;
    }

    [DoesNotReturn]
    private static void ThrowReleased() =>
        throw new ObjectDisposedException(
            nameof(IModuleAllocator),
            "The request this arena belonged to has completed (or its endpoint failed) and its memory has been released. Keep the request's IModuleAllocator, and memory from it, only for the duration of the request.");
}
