using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RequestArena;

/// <summary>
/// A bump allocator over pinned slabs rented from a <see cref="SlabPool"/>: allocations are never freed one at a
/// time; <see cref="Reset"/> or <see cref="Dispose"/> gives everything back at once, runs the registered cleanups
/// and makes every <see cref="Memory{T}"/> handed out before throw <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>
/// <para>
/// Each thread that allocates gets its own chunk of the arena's current slab and bumps it with plain, unsynchronised
/// arithmetic; only taking a new chunk, a new slab, an oversize block or a quota decision takes the arena's gate.
/// So one thread pays a few instructions per allocation, and several threads allocating at once neither overlap
/// nor contend on a shared counter.
/// </para>
/// <para>
/// Zeroing happens when slabs go back to the pool (only the used part is cleared), not at hand-out, so the
/// allocation path never touches the memory it returns.
/// </para>
/// </remarks>
public sealed unsafe partial class Arena : IArenaAllocator, IQuotaSource, IDisposable
{
    // The first chunk a thread carves in a cycle after a cycle that hopped threads: half a slab (at most 32 KiB), so a
    // request that hops again still finds the other half free. After a single-thread cycle the first chunk takes the
    // whole block (see Release). Each further chunk doubles.
    private const int MaxInitialGrain = 32 * 1024;
    private const int MaxChunksKept = 8;

    // Releases after which a chunk no thread placed is dropped: long enough that a thread-pool thread serving a pooled
    // arena now and then keeps its chunk, short enough that threads which stopped using the arena (or exited) do not
    // stay reachable through it.
    private const int ChunkIdleReleases = 16;

    // Chunks grow geometrically up to whatever is left of their block.
    private const int MaxGrain = 1 << 30;

    // The largest first block an arena takes after a cycle that outgrew one slab: four slabs.
    private const int MaxFirstBlockClass = 2;

    // Multiplying a 32-bit value by this copies it into both halves of a 64-bit word.
    private const long StateUnit = 0x1_0000_0001;

    private readonly SlabPool _pool;
    private SpinGate _gate;
    private readonly int _alignment;
    private readonly int _alignMask;
    private readonly long _stateMask;   // the alignment mask in both halves of ArenaChunk.State (see TryBump)
    private long _maxBytes;
    private readonly bool _zero;
    private readonly bool _checked;
    private readonly int _slabSize;

    private ArenaChunk[] _chunks = new ArenaChunk[2];
    private readonly Func<Thread, ArenaChunk> _newChunk;
    private int _chunkCount;
    private long _releases;             // releases so far, under the gate: the clock of ArenaChunk.LastUsed

    private SlabUse[] _slabs = new SlabUse[4];
    private int _slabCount;
    private int _currentSlab = -1;   // index in _slabs of the slab chunks are carved from
    private int _cursor;             // carve position in the current slab
    private readonly int _initialGrain;
    private int _grain;
    private long _otherRequested;    // bytes handed out outside chunks (oversize)
    private long _held;              // bytes of the slabs and blocks held now, plus memory adapters hold for this cycle
    private int _firstBlockClass;    // size class of the first block to carve next cycle (0: one slab)
    private long _slabsRented;       // slabs and oversize blocks rented since the arena was created

    private IDisposable[]? _cleanups;
    private int _cleanupCount;
    private bool _disposed;

    // A release is under way (its cleanups running), and it ends the arena disposed (it is a Dispose, or a Dispose
    // joined it). Both under the gate.
    private bool _releasing;
    private bool _disposeAsked;

    // Identifies the cycle (the time between two releases). A caller that must not outlive one cycle (the request's
    // handle) takes the cycle it started in and passes it with each allocation: every release kills every chunk, so a
    // late caller always reaches the slow path, and the slow path refuses a cycle that has ended. Drawn from one
    // process-wide counter, so no two cycles of any arenas share a value and a caller holding another arena's cycle is
    // refused too.
    private static long s_lastCycle;
    private long _cycle = Interlocked.Increment(ref s_lastCycle);
    private bool _limitExceeded;   // an allocation was refused for the quota in this cycle

    // Run by the release between killing the chunks and invalidating the leases: where a test lands the late store of
    // a bump that raced the release.
    internal Action? ChunksKilled;

    // Set by the ArenaPool that created the arena: only that pool takes it back, and only while it is rented (1).
    internal ArenaPool? OwnerPool;
    internal int Rented;

    /// <summary>Creates an arena on <see cref="SlabPool.Shared"/> with default options.</summary>
    public Arena()
        : this(SlabPool.Shared, null)
    {
    }

    /// <summary>Creates an arena on <see cref="SlabPool.Shared"/>.</summary>
    /// <param name="options">The options; they are copied.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public Arena(ArenaOptions options)
        : this(SlabPool.Shared, options ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    /// <summary>Creates an arena on <paramref name="pool"/>.</summary>
    /// <param name="pool">Where slabs come from.</param>
    /// <param name="options">The options, copied; null takes the defaults.</param>
    /// <exception cref="ArgumentException">
    /// An option is out of range, or <see cref="ArenaOptions.DetectUseAfterRelease"/> is off on a pool whose provider
    /// frees its slabs (<see cref="ISlabProvider.BlocksOutliveRelease"/> false); the message names the options.
    /// </exception>
    public Arena(SlabPool pool, ArenaOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pool);
        options ??= new ArenaOptions();
        options.Validate(pool);
        _pool = pool;
        _alignment = options.Alignment;
        _alignMask = options.Alignment - 1;
        _stateMask = _alignMask * StateUnit;
        _maxBytes = options.MaxBytes;
        _zero = options.ZeroMemory;
        _checked = options.DetectUseAfterRelease;
        _slabSize = pool.SlabSize;
        _initialGrain = Math.Min(MaxInitialGrain, pool.SlabSize / 2);
        _newChunk = thread => new ArenaChunk(this, thread, _releases);
        _grain = _initialGrain;
    }

    /// <summary>The pool this arena rents slabs from.</summary>
    public SlabPool Pool => _pool;

    /// <summary>The arena's alignment in bytes.</summary>
    public int Alignment => _alignment;

    /// <summary>
    /// The arena's quota in bytes handed out between two resets; 0 means unlimited. Changing it takes effect for the
    /// next allocation; lowering it below what is already allocated refuses every further allocation. Memory already
    /// held is not given back before the next reset, so after lowering the quota <see cref="HeldBytes"/> may stay above
    /// twice the new value until then; no further block is taken while it does.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    /// <exception cref="ObjectDisposedException">The arena has been disposed (setting only).</exception>
    public long MaxBytes
    {
        get => Volatile.Read(ref _maxBytes);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            using (_gate.EnterScope())
            {
                if (_disposed)
                {
                    ThrowHelper.ThrowArenaDisposed();
                }

                // Budget handed to threads under the old quota must not outlive it; under the same quota it stands. Both
                // a pooled arena's return and the next renter set the quota, and usually to the value it already has.
                if (value != _maxBytes)
                {
                    RevokeBudgetsLocked();
                    _maxBytes = value;
                }
            }
        }
    }

    /// <summary>Whether memory handed out is zeroed.</summary>
    public bool ZeroMemory => _zero;

    /// <summary>Bytes handed out since the last <see cref="Reset"/> (the sizes asked for, without alignment padding).</summary>
    public long AllocatedBytes
    {
        get
        {
            using (_gate.EnterScope())
            {
                return AllocatedBytesLocked();
            }
        }
    }

    /// <summary>Slabs and oversize blocks the arena holds now.</summary>
    public int SlabsInUse
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _slabCount;
            }
        }
    }

    /// <summary>
    /// Bytes the arena holds now: its slabs and blocks (whether handed out or not, alignment padding and unused chunk
    /// tails included) plus memory adapters of this cycle hold outside them (native blocks). Under a quota of Q bytes
    /// this never exceeds 2 × Q: a slab or block that would pass that bound is refused before it is taken (or a smaller,
    /// unpooled block of exactly what fits is taken instead). The one exception is an arena's first block when a single
    /// aligned allocation is larger than 2 × Q (a quota below the alignment): that block, exactly the allocation's size,
    /// is taken, and nothing more until the next reset.
    /// </summary>
    public long HeldBytes
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _held;
            }
        }
    }

    /// <summary>Slabs and oversize blocks the arena has rented since it was created.</summary>
    public long SlabsRented => Volatile.Read(ref _slabsRented);

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed);

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="cbAllocation"/> is negative, or larger than the largest allocation an arena serves.
    /// </exception>
    /// <exception cref="ArenaLimitExceededException">The allocation would exceed <see cref="ArenaOptions.MaxBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The arena has been disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Memory<byte> AllocateMemory(int cbAllocation) =>
        AllocateMemory(cbAllocation, AnyCycle, bound: false, checkFirst: false);

    /// <summary>
    /// Like <see cref="AllocateMemory(int)"/>, for a caller whose right to allocate ends with one cycle of the arena (a
    /// request's handle over a pooled arena): once that cycle has been released, the call throws
    /// <see cref="ObjectDisposedException"/> instead of allocating from (and charging) the arena's next cycle.
    /// </summary>
    /// <param name="cbAllocation">The number of bytes.</param>
    /// <param name="cycle">The value of <see cref="Cycle"/> the caller started in.</param>
    /// <returns>Exactly <paramref name="cbAllocation"/> bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="cbAllocation"/> is negative, or larger than the largest allocation an arena serves.
    /// </exception>
    /// <exception cref="ArenaLimitExceededException">The allocation would exceed the quota.</exception>
    /// <exception cref="ObjectDisposedException">
    /// <paramref name="cycle"/> is not the arena's current cycle (it has ended, or it is no cycle of this arena), or the
    /// arena has been disposed.
    /// </exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Memory<byte> AllocateMemory(int cbAllocation, long cycle) =>
        AllocateMemory(cbAllocation, cycle, bound: true, checkFirst: true);

    // AllocateMemory(int, long) for a caller that lets go of the arena before its cycle can end (the request's handle:
    // it drops the arena under its lock before the release resets it, and no one else resets a rented arena). Its fast
    // path is the unbound one, without the cycle compare: a chunk of this thread with room was placed by this thread in
    // the current cycle, under the gate. Had that cycle begun after the caller's ended, the placement took the gate
    // after the release did, and so after the caller dropped the arena, and this thread could not have found the arena
    // in the caller. Only the miss path, which may place a chunk, needs the caller's cycle.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Memory<byte> AllocateMemoryWhileHeld(int cbAllocation, long cycle) =>
        AllocateMemory(cbAllocation, cycle, bound: true, checkFirst: false);

    // The three above; `bound` (the miss path refuses any cycle but the caller's) and `checkFirst` (so does the fast
    // path) are constants at each, so the JIT keeps only the cycle paths each one takes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Memory<byte> AllocateMemory(int cbAllocation, long cycle, bool bound, bool checkFirst)
    {
        // A chunk with room was placed in the current cycle by this very thread, and every release kills every chunk
        // (Limit 0). A bound caller's cycle is checked before the bump all the same (checkFirst): this very thread may
        // have placed the chunk in a cycle later than the caller's (a pooled arena serving its next request on the same
        // thread). A release on another thread after the check kills the chunk, which the bump sees, and no other
        // thread can place it again.
        ArenaChunk? chunk = ThreadChunkSlot<ArenaChunk>.Last;
        if (chunk is not null && chunk.Owner == this && (!checkFirst || IsCurrentCycle(cycle))
            && TryBump(chunk, cbAllocation, out int offset, out object owner))
        {
            return MemoryFactory.Create(owner, offset, cbAllocation);
        }

        return AllocateMemoryMiss(cbAllocation, bound ? BoundCycle(cycle) : AnyCycle);
    }

    /// <summary>
    /// A cursor for a loop of allocations on the calling thread, bound to the arena's current cycle: each allocation
    /// costs the bump without the thread-static lookup of <see cref="AllocateMemory(int)"/>. See <see cref="ArenaCursor"/>.
    /// </summary>
    /// <returns>The cursor; use it on this thread only (the compiler keeps it there) and within this cycle.</returns>
    /// <exception cref="ObjectDisposedException">The arena has been disposed.</exception>
    public ArenaCursor CreateCursor() => CreateCursor(Cycle);

    /// <summary>
    /// Like <see cref="CreateCursor()"/>, for a caller whose right to allocate ends with one cycle of the arena (see
    /// <see cref="AllocateMemory(int, long)"/>).
    /// </summary>
    /// <param name="cycle">The value of <see cref="Cycle"/> the caller started in.</param>
    /// <returns>
    /// The cursor; its allocations throw <see cref="ObjectDisposedException"/> once that cycle has ended, or from the start
    /// when <paramref name="cycle"/> is no cycle of this arena.
    /// </returns>
    /// <exception cref="ObjectDisposedException">The arena has been disposed.</exception>
    public ArenaCursor CreateCursor(long cycle)
    {
        if (IsDisposed)
        {
            ThrowHelper.ThrowArenaDisposed();
        }

        return new ArenaCursor(this, cycle);
    }

    /// <summary>
    /// The arena's current cycle: it changes at every <see cref="Reset"/> and <see cref="Dispose"/>. See
    /// <see cref="AllocateMemory(int, long)"/>.
    /// </summary>
    public long Cycle => Volatile.Read(ref _cycle);

    /// <summary>True when an allocation was refused for the quota since the last <see cref="Reset"/>.</summary>
    public bool LimitExceeded => Volatile.Read(ref _limitExceeded);

    /// <summary>Like <see cref="AllocateMemory(int)"/>, but returns false instead of throwing when the quota would be exceeded.</summary>
    /// <param name="cbAllocation">The number of bytes.</param>
    /// <param name="memory">Exactly <paramref name="cbAllocation"/> bytes, or empty when the method returns false.</param>
    /// <returns>False when the quota would be exceeded; the arena stays usable.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="cbAllocation"/> is negative, or larger than the largest allocation an arena serves.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The arena has been disposed.</exception>
    public bool TryAllocateMemory(int cbAllocation, out Memory<byte> memory) => TryAllocateMemoryCore(cbAllocation, AnyCycle, out memory);

    /// <summary>
    /// Like <see cref="TryAllocateMemory(int, out Memory{byte})"/>, for a caller whose right to allocate ends with one
    /// cycle of the arena (see <see cref="AllocateMemory(int, long)"/>).
    /// </summary>
    /// <param name="cbAllocation">The number of bytes.</param>
    /// <param name="cycle">The value of <see cref="Cycle"/> the caller started in.</param>
    /// <param name="memory">Exactly <paramref name="cbAllocation"/> bytes, or empty when the method returns false.</param>
    /// <returns>False when the quota would be exceeded; the arena stays usable.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="cbAllocation"/> is negative, or larger than the largest allocation an arena serves.
    /// </exception>
    /// <exception cref="ObjectDisposedException">
    /// <paramref name="cycle"/> is not the arena's current cycle (it has ended, or it is no cycle of this arena), or the
    /// arena has been disposed.
    /// </exception>
    public bool TryAllocateMemory(int cbAllocation, long cycle, out Memory<byte> memory) =>
        TryAllocateMemoryCore(cbAllocation, BoundCycle(cycle), out memory);

    // Both TryAllocateMemory overloads: `cycle` is AnyCycle for the unbound one.
    private bool TryAllocateMemoryCore(int cbAllocation, long cycle, out Memory<byte> memory)
    {
        // As in AllocateMemory(int, long): the caller's cycle, then the bump.
        ArenaChunk? chunk = FindChunk();
        if (chunk is not null && InCycle(cycle) && TryBump(chunk, cbAllocation, out int offset, out object owner))
        {
            memory = MemoryFactory.Create(owner, offset, cbAllocation);
            return true;
        }

        return TryAllocateMemorySlow(cbAllocation, chunk, cycle, out memory);
    }

    /// <summary>
    /// Allocates room for <paramref name="count"/> values of <typeparamref name="T"/>, aligned to the larger of the
    /// arena's alignment and <typeparamref name="T"/>'s natural alignment. The span is valid until the next reset;
    /// unlike <see cref="Memory{T}"/> it cannot be checked after that, so do not keep it.
    /// </summary>
    /// <typeparam name="T">An unmanaged type.</typeparam>
    /// <param name="count">How many values; 0 returns an empty span.</param>
    /// <returns>The span, zeroed when <see cref="ArenaOptions.ZeroMemory"/> is on.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or too large.</exception>
    /// <exception cref="ArenaLimitExceededException">The allocation would exceed the quota.</exception>
    /// <exception cref="ObjectDisposedException">The arena has been disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Allocate<T>(int count) where T : unmanaged
    {
        ArenaChunk? chunk = ThreadChunkSlot<ArenaChunk>.Last;
        if (chunk is not null && chunk.Owner == this && TryBump<T>(chunk, count, out byte* address))
        {
            return MemoryMarshal.CreateSpan(ref Unsafe.AsRef<T>(address), count);
        }

        return AllocateMiss<T>(count);
    }

    /// <summary>
    /// Registers <paramref name="disposable"/> to be disposed at the next <see cref="Reset"/> or <see cref="Dispose"/>,
    /// in reverse order of registration and before the arena's memory is released.
    /// </summary>
    /// <param name="disposable">What to dispose.</param>
    /// <exception cref="ObjectDisposedException">The arena has been disposed.</exception>
    public void RegisterForCleanup(IDisposable disposable)
    {
        ArgumentNullException.ThrowIfNull(disposable);
        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                ThrowHelper.ThrowArenaDisposed();
            }

            _cleanups ??= new IDisposable[4];
            if (_cleanupCount == _cleanups.Length)
            {
                Array.Resize(ref _cleanups, _cleanups.Length * 2);
            }

            _cleanups[_cleanupCount++] = disposable;
        }
    }

    /// <summary>
    /// Runs the registered cleanups (last registered first), returns every slab to the pool and invalidates every
    /// <see cref="Memory{T}"/> handed out so far. The arena can be used again afterwards.
    /// </summary>
    /// <remarks>
    /// A cleanup registered on another thread while the reset runs is disposed by it or by the next release. A
    /// <see cref="Reset"/> or <see cref="Dispose"/> called while a release is under way (by one of its cleanups, or on
    /// another thread) joins it and returns at once: the release under way runs the cleanups left, which may still use
    /// the memory, then ends the cycle, and ends the arena disposed if a dispose was asked for (a reset joining a dispose
    /// throws <see cref="ObjectDisposedException"/>); until then, memory handed out stays usable. Nothing waits, so a
    /// cleanup that waits for a thread releasing this arena cannot deadlock. When the slab provider throws while freeing
    /// a block, its exception passes through after every slab has left the arena; when cleanups threw as well, it joins
    /// theirs in the <see cref="AggregateException"/>.
    /// </remarks>
    /// <exception cref="AggregateException">One or more cleanups threw; all of them still ran and every slab was returned.</exception>
    /// <exception cref="ObjectDisposedException">The arena has been disposed.</exception>
    public void Reset()
    {
        if (Volatile.Read(ref _disposed))
        {
            ThrowHelper.ThrowArenaDisposed();
        }

        Release(dispose: false);
    }

    // Reset for a pool about to hand the arena to its next renter: false when the reset joined a release under way (on
    // another thread), which ends the cycle only later and may end the arena disposed; such an arena must not be pooled.
    internal bool ResetForReuse() => Release(dispose: false, forReuse: true);

    /// <summary>Like <see cref="Reset"/>, then the arena refuses further use. Calling it again does nothing.</summary>
    /// <remarks>
    /// A cleanup registered on another thread while this runs is either disposed by it or refused. Called while a
    /// release is under way (by one of its cleanups, or on another thread), it joins that release, which then ends the
    /// arena disposed; a <see cref="Reset"/> after that throws <see cref="ObjectDisposedException"/>. When the slab
    /// provider throws while freeing a block, its exception passes through after every slab has left the arena; when
    /// cleanups threw as well, it joins theirs in the <see cref="AggregateException"/>.
    /// </remarks>
    /// <exception cref="AggregateException">One or more cleanups threw; all of them still ran and every slab was returned.</exception>
    public void Dispose()
    {
        if (Volatile.Read(ref _disposed))
        {
            return;
        }

        Release(dispose: true);
    }

    // Whether a caller may still allocate in `cycle`, in the paths shared by bound and unbound callers: always for
    // AnyCycle.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool InCycle(long cycle) => cycle == AnyCycle || IsCurrentCycle(cycle);

    // Whether `cycle` is the arena's current cycle: the one compare a bound caller's fast path makes (the overloads that
    // take a cycle, and ArenaCursor). A bound caller's AnyCycle never passes it: real cycles start at 1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool IsCurrentCycle(long cycle) => cycle == Volatile.Read(ref _cycle);

    // The bump itself, shared by the Memory<byte> fast paths: one load and one store of the chunk's state. Signed
    // compare on purpose: a revoked or released chunk may have Offset beyond Limit. The memory's owner is read before
    // the state, so a release landing in between leaves the caller the released lease, never null; index is the
    // Memory<byte> index of the bytes handed out.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryBump(ArenaChunk chunk, int size, out int index, out object owner)
    {
        owner = chunk.MemoryOwner!;
        long state = chunk.State;
        int offset = (int)state;
        index = chunk.MemoryBase + offset;
        if (size > 0 && size <= chunk.Limit - offset)
        {
            chunk.State = Advance(state, size);
            return true;
        }

        return false;
    }

    // The state after handing out `size` bytes. Bytes handed out are derived from offsets, so only alignment padding
    // is counted, in the state's high half. The padding (-size & mask) is computed in both halves at once, so one add
    // moves the offset to the next aligned position and counts the padding; for a size known at the call site the
    // JIT folds all but one AND.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Advance(long state, int size) => state + size + ((uint)-size * StateUnit & _stateMask);

    // The typed bump. One unsigned compare admits counts from 1 up to what fits in int bytes, so the byte count is
    // computed in 32 bits; zero, negative and huge counts, and types aligned beyond the arena, go to the slow path.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryBump<T>(ArenaChunk chunk, int count, out byte* address) where T : unmanaged
    {
        // Base before the state, for the same reason as the owner above: a racing release never leaves null here.
        byte* baseAddress = chunk.Base;
        long state = chunk.State;
        int offset = (int)state;
        address = baseAddress + offset;
        if ((uint)(count - 1) < (uint)(int.MaxValue / sizeof(T)) && AlignOf<T>.Value <= _alignment)
        {
            int size = count * sizeof(T);
            if (size <= chunk.Limit - offset)
            {
                chunk.State = Advance(state, size);
                return true;
            }
        }

        return false;
    }

    // The calling thread's chunk of this arena when it is the thread's last one, else null: where a cursor starts.
    internal ArenaChunk? ChunkOfCurrentThread() =>
        ThreadChunkSlot<ArenaChunk>.Last is { } chunk && chunk.Owner == this ? chunk : null;

    // The calling thread's chunk of this arena without taking the gate: the thread's last chunk, then the one before
    // it (promoted, so a thread alternating between two arenas stays on the fast path). Null when the thread has none.
    private ArenaChunk? FindChunk()
    {
        ArenaChunk? chunk = ThreadChunkSlot<ArenaChunk>.Last;
        if (chunk is not null && chunk.Owner == this)
        {
            return chunk;
        }

        chunk = ThreadChunkSlot<ArenaChunk>.Previous;
        if (chunk is not null && chunk.Owner == this && !chunk.Detached)
        {
            ThreadChunkSlot<ArenaChunk>.Use(chunk);
            return chunk;
        }

        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Memory<byte> AllocateMemoryMiss(int cbAllocation, long cycle)
    {
        ArenaChunk? chunk = FindChunk();
        if (chunk is not null && InCycle(cycle) && TryBump(chunk, cbAllocation, out int offset, out object owner))
        {
            return MemoryFactory.Create(owner, offset, cbAllocation);
        }

        return AllocateMemorySlow(cbAllocation, chunk, cycle);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Span<T> AllocateMiss<T>(int count) where T : unmanaged
    {
        ArenaChunk? chunk = FindChunk();
        if (chunk is not null && TryBump<T>(chunk, count, out byte* address))
        {
            return MemoryMarshal.CreateSpan(ref Unsafe.AsRef<T>(address), count);
        }

        return AllocateSlow<T>(count, chunk);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Memory<byte> AllocateMemorySlow(int cbAllocation, ArenaChunk? chunk, long cycle)
    {
        if (cbAllocation <= 0)
        {
            return EmptyOrThrow(cbAllocation, cycle);
        }

        TryAllocateCore(cbAllocation, _alignment, throwOnLimit: true, chunk, out Region region, cycle);
        return region.ToMemory(cbAllocation);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAllocateMemorySlow(int cbAllocation, ArenaChunk? chunk, long cycle, out Memory<byte> memory)
    {
        if (cbAllocation <= 0)
        {
            memory = EmptyOrThrow(cbAllocation, cycle);
            return true;
        }

        if (!TryAllocateCore(cbAllocation, _alignment, throwOnLimit: false, chunk, out Region region, cycle))
        {
            memory = default;
            return false;
        }

        memory = region.ToMemory(cbAllocation);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Span<T> AllocateSlow<T>(int count, ArenaChunk? chunk) where T : unmanaged
    {
        if (count <= 0)
        {
            EmptyOrThrow(count, paramName: nameof(count));
            return default;
        }

        long bytes = (long)count * sizeof(T);
        TryAllocateCore(bytes, Math.Max(_alignment, AlignOf<T>.Value), throwOnLimit: true, chunk, out Region region, AnyCycle, sizeof(T));
        return new Span<T>(region.Base + region.Offset, count);
    }

    private Memory<byte> EmptyOrThrow(long size, long cycle = AnyCycle, string paramName = "cbAllocation")
    {
        if (size < 0)
        {
            ThrowHelper.ThrowNegativeSize(paramName, size);
        }

        if (cycle != AnyCycle && cycle != Volatile.Read(ref _cycle))
        {
            ThrowHelper.ThrowCycleEnded();
        }

        if (Volatile.Read(ref _disposed))
        {
            ThrowHelper.ThrowArenaDisposed();
        }

        return Memory<byte>.Empty;
    }

    // The largest allocation: rounded up to any alignment the arena allows, and with that alignment's room for aligning
    // its start, it still fits the largest array a provider can make.
    internal static readonly int MaxBlockSize = (Array.MaxLength - (ArenaOptions.MaxAlignment - 1)) & ~(ArenaOptions.MaxAlignment - 1);

    // The cycle argument of callers that are not bound to one cycle.
    private const long AnyCycle = -1;

    // Never a cycle: the process-wide counter's first value is 1.
    private const long NoCycle = 0;

    // What the shared paths are given for a bound caller's cycle: a caller that passes AnyCycle's value holds no cycle
    // of this arena, and is refused like any other that is not current, not let through as unbound.
    private static long BoundCycle(long cycle) => cycle == AnyCycle ? NoCycle : cycle;

    private readonly struct Region(object owner, int memoryBase, byte* baseAddress, int offset)
    {
        public readonly object Owner = owner;
        public readonly int MemoryBase = memoryBase;
        public readonly byte* Base = baseAddress;
        public readonly int Offset = offset;

        public Memory<byte> ToMemory(int length) => MemoryFactory.Create(Owner, MemoryBase + Offset, length);
    }
}
