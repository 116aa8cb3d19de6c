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
public sealed unsafe class Arena : IModuleAllocator, ICleanupRegistry, IQuotaSource, IDisposable
{
    // The first chunk a thread carves in a cycle after a cycle that hopped threads: half a slab (at most 32 KiB), so a
    // request that hops again still finds the other half free. After a single-thread cycle the first chunk takes the
    // whole block (see Release). Each further chunk doubles.
    private const int MaxInitialGrain = 32 * 1024;
    private const int MaxChunksKept = 8;

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

    // Identifies the cycle (the time between two releases). A caller that must not outlive one cycle (the request's
    // handle) takes the cycle it started in and passes it with each allocation: every release kills every chunk, so a
    // late caller always reaches the slow path, and the slow path refuses a cycle that has ended. Drawn from one
    // process-wide counter, so no two cycles of any arenas share a value and a caller holding another arena's cycle is
    // refused too.
    private static long s_lastCycle;
    private long _cycle = Interlocked.Increment(ref s_lastCycle);
    private bool _limitExceeded;   // an allocation was refused for the quota in this cycle

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
        _newChunk = thread => new ArenaChunk(this, thread);
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
    public long MaxBytes
    {
        get => Volatile.Read(ref _maxBytes);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            using (_gate.EnterScope())
            {
                // Budget handed to threads under the old quota must not outlive it.
                RevokeBudgetsLocked();
                _maxBytes = value;
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
    /// unpooled block of exactly what fits is taken instead).
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
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cbAllocation"/> is negative.</exception>
    /// <exception cref="ArenaLimitExceededException">The allocation would exceed <see cref="ArenaOptions.MaxBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The arena has been disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        ArenaChunk? chunk = ThreadChunkSlot<ArenaChunk>.Last;
        if (chunk is not null && chunk.Owner == this && TryBump(chunk, cbAllocation, out int offset, out object owner))
        {
            return MemoryFactory.Create(owner, offset, cbAllocation);
        }

        return AllocateMemoryMiss(cbAllocation, AnyCycle);
    }

    /// <summary>
    /// Like <see cref="AllocateMemory(int)"/>, for a caller whose right to allocate ends with one cycle of the arena (a
    /// request's handle over a pooled arena): once that cycle has been released, the call throws
    /// <see cref="ObjectDisposedException"/> instead of allocating from (and charging) the arena's next cycle.
    /// </summary>
    /// <param name="cbAllocation">The number of bytes.</param>
    /// <param name="cycle">The value of <see cref="Cycle"/> the caller started in.</param>
    /// <returns>Exactly <paramref name="cbAllocation"/> bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cbAllocation"/> is negative.</exception>
    /// <exception cref="ArenaLimitExceededException">The allocation would exceed the quota.</exception>
    /// <exception cref="ObjectDisposedException">The cycle has ended, or the arena has been disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Memory<byte> AllocateMemory(int cbAllocation, long cycle)
    {
        // A chunk with room was placed in the current cycle by this very thread, and every release kills every chunk
        // (Limit 0), so a bump that succeeds here cannot belong to a later cycle than the caller's.
        ArenaChunk? chunk = ThreadChunkSlot<ArenaChunk>.Last;
        if (chunk is not null && chunk.Owner == this && TryBump(chunk, cbAllocation, out int offset, out object owner))
        {
            return MemoryFactory.Create(owner, offset, cbAllocation);
        }

        return AllocateMemoryMiss(cbAllocation, cycle);
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
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cbAllocation"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException">The arena has been disposed.</exception>
    public bool TryAllocateMemory(int cbAllocation, out Memory<byte> memory)
    {
        ArenaChunk? chunk = FindChunk();
        if (chunk is not null && TryBump(chunk, cbAllocation, out int offset, out object owner))
        {
            memory = MemoryFactory.Create(owner, offset, cbAllocation);
            return true;
        }

        return TryAllocateMemorySlow(cbAllocation, chunk, out memory);
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

    /// <summary>Like <see cref="Reset"/>, then the arena refuses further use. Calling it again does nothing.</summary>
    /// <exception cref="AggregateException">One or more cleanups threw; all of them still ran and every slab was returned.</exception>
    public void Dispose()
    {
        if (Volatile.Read(ref _disposed))
        {
            return;
        }

        Release(dispose: true);
    }

    // Used by the zeroing benchmark only: the alternative strategy of clearing each allocation as it is handed out.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Memory<byte> AllocateMemoryClearOnHandOut(int cbAllocation)
    {
        ArenaChunk? chunk = ThreadChunkSlot<ArenaChunk>.Last;
        if (chunk is not null && chunk.Owner == this)
        {
            byte* address = chunk.Base;
            if (TryBump(chunk, cbAllocation, out int offset, out object owner))
            {
                new Span<byte>(address + (offset - chunk.MemoryBase), cbAllocation).Clear();
                return MemoryFactory.Create(owner, offset, cbAllocation);
            }
        }

        Memory<byte> memory = AllocateMemoryMiss(cbAllocation, AnyCycle);
        memory.Span.Clear();
        return memory;
    }

    // Benchmark twin of Allocate<T> for the same comparison.
    internal Span<T> AllocateClearOnHandOut<T>(int count) where T : unmanaged
    {
        Span<T> span = Allocate<T>(count);
        span.Clear();
        return span;
    }

    // The bump itself, shared by the Memory<byte> fast paths: one load and one store of the chunk's state. Signed
    // compare on purpose: a revoked or released chunk may have Offset beyond Limit. The memory's owner is read before
    // the state, so a release landing in between leaves the caller the released lease, never null; index is the
    // Memory<byte> index of the bytes handed out.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryBump(ArenaChunk chunk, int size, out int index, out object owner)
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
        if (chunk is not null && TryBump(chunk, cbAllocation, out int offset, out object owner))
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
            if (cycle != AnyCycle && cycle != Volatile.Read(ref _cycle))
            {
                ThrowHelper.ThrowCycleEnded();
            }

            return EmptyOrThrow(cbAllocation);
        }

        TryAllocateCore(cbAllocation, _alignment, throwOnLimit: true, chunk, out Region region, cycle);
        return region.ToMemory(cbAllocation);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAllocateMemorySlow(int cbAllocation, ArenaChunk? chunk, out Memory<byte> memory)
    {
        if (cbAllocation <= 0)
        {
            memory = EmptyOrThrow(cbAllocation);
            return true;
        }

        if (!TryAllocateCore(cbAllocation, _alignment, throwOnLimit: false, chunk, out Region region, AnyCycle))
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
            EmptyOrThrow(count);
            return default;
        }

        long bytes = (long)count * sizeof(T);
        TryAllocateCore(bytes, Math.Max(_alignment, AlignOf<T>.Value), throwOnLimit: true, chunk, out Region region, AnyCycle);
        return new Span<T>(region.Base + region.Offset, count);
    }

    private Memory<byte> EmptyOrThrow(long size)
    {
        if (size < 0)
        {
            ThrowHelper.ThrowNegativeSize("cbAllocation", size);
        }

        if (Volatile.Read(ref _disposed))
        {
            ThrowHelper.ThrowArenaDisposed();
        }

        return Memory<byte>.Empty;
    }

    // The slow path: everything that needs the lock. Returns false only for a quota breach with throwOnLimit off.
    // `found` is the calling thread's chunk when the miss path already knows it, sparing the thread-local lookup.
    // `cycle` is AnyCycle, or the cycle a caller bound to one cycle started in (see AllocateMemory(int, long)).
    private bool TryAllocateCore(long size, int alignment, bool throwOnLimit, ArenaChunk? found, out Region region, long cycle)
    {
        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                ThrowHelper.ThrowArenaDisposed();
            }

            if (cycle != AnyCycle && cycle != _cycle)
            {
                ThrowHelper.ThrowCycleEnded();
            }

            ArenaChunk chunk = ChunkForCurrentThread(found);
            long extraBudget = int.MaxValue;
            if (_maxBytes > 0)
            {
                // This thread's unused budget is being replaced, so it no longer counts against the quota.
                chunk.Limit = Math.Min(chunk.Limit, chunk.Offset);
                (long used, long committed) = UsageLocked();
                if (used + size <= _maxBytes && committed + size > _maxBytes)
                {
                    // Budget other threads hold but have not used (a request that hopped threads leaves some behind)
                    // would let the arena pass its quota; take it back. Their next allocation takes the slow path, and
                    // one already past its limit check is the one allocation each a race may overshoot by.
                    RevokeBudgetsLocked();
                    (used, committed) = UsageLocked();
                }

                if (used + size > _maxBytes)
                {
                    _limitExceeded = true;
                    if (throwOnLimit)
                    {
                        ThrowHelper.ThrowLimitExceeded(_maxBytes, size, used);
                    }

                    region = default;
                    return false;
                }

                extraBudget = Math.Max(0, _maxBytes - committed - size);
            }

            // Judged after the quota so that a quota refuses an absurd size with its own, more telling error.
            long maxBlock = Array.MaxLength - ArenaOptions.MaxAlignment;
            if (size > maxBlock)
            {
                ThrowHelper.ThrowTooLarge("cbAllocation", size, maxBlock);
            }

            int aligned = (int)((size + _alignMask) & ~(long)_alignMask);
            if (aligned + alignment - 1 > _slabSize)
            {
                if (!TryRentOversizeLocked(aligned, alignment, out region))
                {
                    return RefuseHeldLocked(size, throwOnLimit, out region);
                }

                _otherRequested += size;
                return true;
            }

            // Room left in this thread's chunk (a larger alignment than usual may need padding first).
            int start = chunk.IsPlaced ? AlignOffset(chunk.Base, chunk.Offset, alignment) : -1;
            if (start < 0 || start + aligned > chunk.End)
            {
                start = CarveLocked(chunk, aligned, alignment, extraBudget);
                if (start < 0)
                {
                    return RefuseHeldLocked(size, throwOnLimit, out region);
                }
            }

            // Alignment padding beyond the arena's own and the round-up are not bytes handed out.
            int offset = start + aligned;
            chunk.SetState(offset, chunk.Padding + start - chunk.Offset + aligned - (int)size);
            chunk.Limit = offset + (int)Math.Min(chunk.End - offset, extraBudget & ~(long)_alignMask);
            region = new Region(chunk.MemoryOwner!, chunk.MemoryBase, chunk.Base, start);
            return true;
        }
    }

    // Gives the chunk a new region of at least `aligned` bytes after `alignment` padding; returns the start.
    private int CarveLocked(ArenaChunk chunk, int aligned, int alignment, long extraBudget)
    {
        // If this chunk was the last thing carved, its unused tail is still the slab's free space: carve over it
        // again instead of leaving a hole.
        int cursor = _cursor;
        if (_currentSlab >= 0 && chunk.Slab == _slabs[_currentSlab].Slab && chunk.End == cursor)
        {
            cursor = chunk.Offset;
        }

        int extra = (int)Math.Min(_grain, extraBudget);
        if (_maxBytes > 0)
        {
            // Under a quota every thread's region is small: unused region tails are memory held, and a request that
            // spreads over many threads must not hold a slab per thread.
            extra = (int)Math.Min(extra, Math.Max(_alignment, _maxBytes / QuotaRegionDivisor));
        }

        int start;
        if (_currentSlab >= 0)
        {
            start = AlignOffset(_slabs[_currentSlab].Slab.Address, cursor, alignment);
            if (start + aligned <= _slabs[_currentSlab].Slab.Length)
            {
                RetireRegionLocked(chunk);
                return Place(chunk, _currentSlab, start, aligned, extra);
            }
        }

        // Nothing has changed yet, and nothing may until the new slab is in hand: when the pool cannot supply one it
        // throws, and the chunk must keep its region (its tail is still its own to bump into) with the slab cursor
        // still past it. Retiring first would count the region twice, and a cursor rewound into the tail would let
        // the next carve hand the same bytes out again.
        Slab? slab = RentCarvedLocked(aligned, alignment, ref extra);
        if (slab is null)
        {
            return -1;
        }

        RetireRegionLocked(chunk);
        AddSlabLocked(slab, carved: true);
        _currentSlab = _slabCount - 1;
        start = AlignOffset(slab.Address, 0, alignment);
        return Place(chunk, _currentSlab, start, aligned, extra);
    }

    // Folds the chunk's current region into its totals and records how far it got into its slab, so that only
    // bytes actually handed out are cleared when the slab goes back.
    // The next block to carve regions from: the predicted first block, a slab, or, when the quota leaves less room for
    // memory held than that, an unpooled block of just what fits (extra shrinks to match). Null when not even the
    // allocation itself fits in the room left.
    private Slab? RentCarvedLocked(int aligned, int alignment, ref int extra)
    {
        int sizeClass = _currentSlab < 0 && _firstBlockClass > 0 ? _firstBlockClass : 0;
        long room = HeldRoomLocked();
        if (((long)_slabSize << sizeClass) <= room)
        {
            return sizeClass > 0 ? _pool.RentBlock(sizeClass, _zero) : _pool.Rent(_zero);
        }

        if ((long)_slabSize <= room)
        {
            return _pool.Rent(_zero);
        }

        // The provider aligns the block's start to `alignment`, so the allocation needs no padding in front.
        long need = aligned;
        if (need > room)
        {
            return null;
        }

        extra = (int)Math.Min(extra, room - need);
        return _pool.RentExact((int)(need + extra), alignment, _zero);
    }

    // How many more bytes the arena may hold: twice the quota, less what it holds; unlimited without a quota.
    private long HeldRoomLocked() => _maxBytes > 0 && _maxBytes <= long.MaxValue / 2 ? 2 * _maxBytes - _held : long.MaxValue;

    private void RetireRegionLocked(ArenaChunk chunk)
    {
        if (chunk.Slab is not null)
        {
            ref SlabUse use = ref _slabs[chunk.SlabIndex];
            use.Used = Math.Max(use.Used, chunk.Offset);
            chunk.Retired += chunk.Offset - chunk.RegionStart - chunk.Padding;
            chunk.SetState(chunk.Offset, 0);
        }
    }

    private int Place(ArenaChunk chunk, int slabIndex, int start, int aligned, int extra)
    {
        ref SlabUse use = ref _slabs[slabIndex];
        Slab slab = use.Slab;

        // The chunk's end must stay a multiple of the arena's alignment in address terms.
        long end = Math.Min((long)start + aligned + extra, slab.Length);
        end = AlignDown(slab.Address, (int)end, _alignment);
        _cursor = (int)end;
        _grain = (int)Math.Min(_grain * 2L, MaxGrain);

        // The new region starts where the chunk stands now; the padding up to `start` is counted by the caller.
        chunk.SetState(start, 0);
        chunk.RegionStart = start;
        chunk.SlabIndex = slabIndex;
        chunk.Slab = slab;
        chunk.End = (int)end;
        chunk.Base = slab.Address;
        (chunk.MemoryOwner, chunk.MemoryBase) = MemoryOwnerOf(use);
        return start;
    }

    private bool TryRentOversizeLocked(int aligned, int alignment, out Region region)
    {
        // A pooled size class may be up to twice the allocation: take exactly the allocation when the class would
        // hold more than the quota allows.
        long room = HeldRoomLocked();
        Slab slab;
        if (_pool.OversizeLengthFor(aligned, alignment) <= room)
        {
            slab = _pool.RentOversize(aligned, alignment, _zero);
        }
        else if (aligned <= room)
        {
            slab = _pool.RentExact(aligned, alignment, _zero);
        }
        else
        {
            region = default;
            return false;
        }

        int index = AddSlabLocked(slab, carved: false);   // may grow _slabs, so index only afterwards
        ref SlabUse use = ref _slabs[index];
        int start = AlignOffset(slab.Address, 0, alignment);
        use.Used = start + aligned;
        (object owner, int memoryBase) = MemoryOwnerOf(use);
        region = new Region(owner, memoryBase, slab.Address, start);
        return true;
    }

    // The quota leaves no room to hold the memory an allocation needs (see HeldBytes).
    private bool RefuseHeldLocked(long size, bool throwOnLimit, out Region region)
    {
        _limitExceeded = true;
        if (throwOnLimit)
        {
            ThrowHelper.ThrowHeldLimitExceeded(_maxBytes, size, AllocatedBytesLocked(), _held);
        }

        region = default;
        return false;
    }

    // Memory an adapter of this cycle holds outside the arena's slabs (native blocks), counted as held: false, and
    // nothing charged, when the quota's bound on memory held would be passed.
    bool IQuotaSource.TryChargeHeld(long bytes)
    {
        using (_gate.EnterScope())
        {
            if (_disposed || bytes > HeldRoomLocked())
            {
                return false;
            }

            _held += bytes;
            return true;
        }
    }

    void IQuotaSource.ReleaseHeld(long bytes)
    {
        using (_gate.EnterScope())
        {
            _held = Math.Max(0, _held - bytes);
        }
    }

    // Checked memory points at the slab's lease so it dies with the arena; unchecked memory is a plain slice of the
    // slab's pinned array (or, for native slabs, of a lease that is never released).
    private (object Owner, int MemoryBase) MemoryOwnerOf(in SlabUse use)
    {
        if (_checked)
        {
            return (use.Lease!, 0);
        }

        return use.Slab.Array is { } array
            ? (array, use.Slab.ArrayOffset | MemoryFactory.PinnedArrayFlag)
            : (use.Slab.PermanentLease, 0);
    }

    private int AddSlabLocked(Slab slab, bool carved)
    {
        if (_slabCount == _slabs.Length)
        {
            Array.Resize(ref _slabs, _slabs.Length * 2);
        }

        _slabs[_slabCount] = new SlabUse(slab, _checked ? new SlabLease(slab) : null, carved);
        _held += slab.Length;
        Volatile.Write(ref _slabsRented, _slabsRented + 1);   // only ever written under the gate
        return _slabCount++;
    }

    // `found` came from this thread's slot, so it is this thread's own; otherwise the thread's chunk is looked up by
    // its Thread object, which no other live thread shares.
    private ArenaChunk ChunkForCurrentThread(ArenaChunk? found)
    {
        if (found is not null && !found.Detached)
        {
            ThreadChunkSlot<ArenaChunk>.Use(found);
            return found;
        }

        return ThreadChunkSlot<ArenaChunk>.ForCurrentThread(ref _chunks, ref _chunkCount, _newChunk);
    }

    private long AllocatedBytesLocked()
    {
        long total = _otherRequested;
        for (int i = 0; i < _chunkCount; i++)
        {
            total += _chunks[i].HandedOut;
        }

        return total;
    }

    // Bytes handed out, and those plus the budget threads hold and have not used yet. Each chunk's state is read once:
    // its owner may be bumping right now, and a bump moves bytes from budget to handed out, so the second figure only
    // stays exact if both halves come from one reading.
    private (long Used, long Committed) UsageLocked()
    {
        long used = _otherRequested;
        long unused = 0;
        for (int i = 0; i < _chunkCount; i++)
        {
            ArenaChunk chunk = _chunks[i];
            if (!chunk.IsPlaced)
            {
                continue;
            }

            long state = Volatile.Read(ref chunk.State);
            int offset = (int)state;
            used += Volatile.Read(ref chunk.Retired) + offset - Volatile.Read(ref chunk.RegionStart) - (int)(state >> 32);
            unused += Math.Max(0, Volatile.Read(ref chunk.Limit) - offset);
        }

        return (used, used + unused);
    }

    // Sends every thread to the slow path for its next allocation. Limit becomes 0 rather than the owner's current
    // offset: a value computed from a read of the offset would let the owner keep bumping under the old limit for as
    // long as this thread took between that read and the write, while 0 stops every bump that starts after the write,
    // so only the one already past its check gets through.
    //
    // The owners bump with plain loads and stores, so right after the write their latest bumps may still sit in their
    // cores' store buffers, invisible to a read of their state here, and the revocation itself may not be visible to
    // them yet. The process-wide barrier drains both: after it, a read of an owner's state misses at most the one bump
    // that had already passed its check. It costs a few microseconds, paid only on this path (a quota nearly used up
    // by several threads).
    private void RevokeBudgetsLocked()
    {
        // Only a budget another thread may be using right now needs the barrier; a pooled arena being given its next
        // request's quota, whose chunks were all killed at release, must not pay it on every request.
        Thread current = Thread.CurrentThread;
        bool othersHeldBudget = false;
        for (int i = 0; i < _chunkCount; i++)
        {
            ArenaChunk chunk = _chunks[i];
            if (Volatile.Read(ref chunk.Limit) != 0)
            {
                othersHeldBudget |= chunk.Thread != current;
                Volatile.Write(ref chunk.Limit, 0);
            }
        }

        if (othersHeldBudget)
        {
            Interlocked.MemoryBarrierProcessWide();
        }
    }

    private void Release(bool dispose)
    {
        // Cleanups first: they may still read or flush arena memory.
        List<Exception>? errors = Volatile.Read(ref _cleanupCount) != 0 ? RunCleanups() : null;
        using (_gate.EnterScope())
        {
            if (dispose)
            {
                Volatile.Write(ref _disposed, true);
            }

            Volatile.Write(ref _cycle, Interlocked.Increment(ref s_lastCycle));
            _limitExceeded = false;

            int threadsUsed = 0;
            for (int i = 0; i < _chunkCount; i++)
            {
                if (_chunks[i].Slab is not null)
                {
                    threadsUsed++;
                    RetireRegionLocked(_chunks[i]);
                    _chunks[i].Kill();
                }
            }

            // Threads that stopped using the arena keep nothing alive through it for long.
            if (_chunkCount > MaxChunksKept || dispose)
            {
                for (int i = dispose ? 0 : MaxChunksKept; i < _chunkCount; i++)
                {
                    _chunks[i].Detached = true;
                }

                Array.Clear(_chunks, dispose ? 0 : MaxChunksKept, _chunkCount - (dispose ? 0 : MaxChunksKept));
                _chunkCount = dispose ? 0 : MaxChunksKept;
            }

            // Invalidate before any slab can be reused, so no old Memory<byte> can see the next owner's bytes.
            long carvedBytes = 0;
            for (int i = 0; i < _slabCount; i++)
            {
                _slabs[i].Lease?.Release();
                if (_slabs[i].Carved)
                {
                    carvedBytes += _slabs[i].Used;
                }
            }

            // A cycle that outgrew one slab predicts another: the next one starts with a block of several slabs
            // (pooled like oversize blocks), so it goes through the slow path and the pool once instead of per slab.
            // The prediction shrinks one size class per smaller cycle, so one small cycle does not undo it.
            _firstBlockClass = Math.Max(FirstBlockClass(carvedBytes), _firstBlockClass - 1);

            _pool.Return(_slabs.AsSpan(0, _slabCount), _zero);
            Array.Clear(_slabs, 0, _slabCount);

            _slabCount = 0;
            _currentSlab = -1;
            _cursor = 0;

            // A cycle that allocated on one thread only predicts another: its first chunk takes the whole slab, which
            // saves a trip through the slow path per slab. After a cycle that hopped threads, the first chunk leaves
            // room in its slab for the next thread.
            _grain = threadsUsed <= 1 ? MaxGrain : _initialGrain;
            _otherRequested = 0;
            _held = 0;
        }

        if (errors is not null)
        {
            throw new AggregateException("One or more arena cleanups threw; every cleanup still ran and every slab was returned.", errors);
        }
    }

    private List<Exception>? RunCleanups()
    {
        List<Exception>? errors = null;
        while (Volatile.Read(ref _cleanupCount) != 0)
        {
            IDisposable[]? batch;
            int count;
            using (_gate.EnterScope())
            {
                batch = _cleanups;
                count = _cleanupCount;
                if (count == 0)
                {
                    return errors;
                }

                _cleanups = null;
                _cleanupCount = 0;
            }

            for (int i = count - 1; i >= 0; i--)
            {
                try
                {
                    batch![i].Dispose();
                }
                catch (Exception ex)
                {
                    (errors ??= []).Add(ex);
                }
            }

            // Keep the array for the next cycle unless a cleanup registered new ones meanwhile.
            Array.Clear(batch!, 0, count);
            using (_gate.EnterScope())
            {
                _cleanups ??= batch;
            }
        }

        return errors;
    }

    // The first block for a cycle like the last one. Rounded down to a power of two of slabs, it never holds more
    // than the same use would take in slabs one by one; rounded up, it saves another trip through the slow path for
    // up to a third more memory per cycle. Rounding up is only done while the pool has headroom under its cap: near
    // the cap (many concurrent requests) the bigger blocks crowd out slabs, which are then dropped at return and
    // allocated again. The batch benchmark is what shows the trips saved; the load test at 128 connections what the
    // crowding costs.
    private int FirstBlockClass(long carvedBytes)
    {
        long slabs = (carvedBytes + _slabSize - 1) / _slabSize;
        int down = 0;
        while (down < MaxFirstBlockClass && (2L << down) <= slabs)
        {
            down++;
        }

        int up = down;
        while (up < MaxFirstBlockClass && (1L << up) < slabs)
        {
            up++;
        }

        return up > down && _pool.HasHeadroomFor((long)_slabSize << up) ? up : down;
    }

    private static int AlignOffset(byte* baseAddress, int offset, int alignment)
    {
        nint address = (nint)(baseAddress + offset);
        nint alignedAddress = (address + (alignment - 1)) & ~(nint)(alignment - 1);
        return offset + (int)(alignedAddress - address);
    }

    private static int AlignDown(byte* baseAddress, int offset, int alignment)
    {
        nint address = (nint)(baseAddress + offset);
        return offset - (int)(address & (alignment - 1));
    }

    internal struct SlabUse(Slab slab, SlabLease? lease, bool carved)
    {
        public readonly Slab Slab = slab;
        public readonly SlabLease? Lease = lease;
        public readonly bool Carved = carved;   // chunks were carved from it (not a block for one large allocation)
        public int Used;
    }

    // Under a quota a region (a thread's chunk) is at most this fraction of the quota.
    private const int QuotaRegionDivisor = 32;

    // The cycle argument of callers that are not bound to one cycle.
    private const long AnyCycle = -1;

    private readonly struct Region(object owner, int memoryBase, byte* baseAddress, int offset)
    {
        public readonly object Owner = owner;
        public readonly int MemoryBase = memoryBase;
        public readonly byte* Base = baseAddress;
        public readonly int Offset = offset;

        public Memory<byte> ToMemory(int length) => MemoryFactory.Create(Owner, MemoryBase + Offset, length);
    }
}
