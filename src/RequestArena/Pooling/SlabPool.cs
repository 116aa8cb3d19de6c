namespace RequestArena;

/// <summary>
/// A bounded pool of pinned slabs shared by arenas. It keeps at most <see cref="SlabPoolOptions.MaxRetainedBytes"/>
/// of idle slabs, gives idle slabs back to its <see cref="ISlabProvider"/> over time, and keeps every pooled slab
/// clean enough for an arena that zeroes: a slab is cleared (only the part that was used) before it can be handed
/// out to an arena that zeroes.
/// </summary>
/// <remarks>
/// <para>
/// Blocks larger than a slab (the oversize path) are pooled too, in size classes of a slab size times a power of two,
/// up to 64 slabs or a quarter of the cap, whichever is smaller; larger ones go straight back to the provider. Without
/// that, every large request would allocate a fresh pinned array that only a gen2 collection reclaims.
/// </para>
/// <para>
/// Rent and return take a lock: an arena touches the pool once per slab (64 KiB by default), not per allocation,
/// so a striped or lock-free pool would buy nothing measurable here.
/// </para>
/// </remarks>
public sealed class SlabPool : IDisposable
{
    private const int MaxPooledClassSlabs = 64;

    private static readonly Lazy<SlabPool> s_shared = new(() => new SlabPool(new SlabPoolOptions(), isShared: true));

    private SpinGate _gate;
    private readonly ISlabProvider _provider;
    private readonly long _maxRetainedBytes;
    private readonly bool _isShared;
    private readonly Timer? _trimTimer;
    private readonly int _maxClass;

    // _stacks[0] holds slabs; _stacks[k] blocks of SlabSize << k.
    private readonly Slab[][] _stacks;
    private readonly int[] _counts;
    private long _pooledBytes;
    private bool _disposed;

    private long _rented;
    private long _returned;
    private long _oversizeRented;
    private long _oversizeReturned;
    private long _providerAllocated;
    private long _providerFreed;
    private long _trimmed;
    private long _dropped;
    private long _providerFreeFailures;

    // Traffic since the last trim tick, read by the idle trimmer.
    private long _rentsSinceTick;
    private long _returnsSinceTick;

    /// <summary>The process-wide pool used by arenas created without one: 64 KiB slabs, 32 MiB retained at most.</summary>
    public static SlabPool Shared => s_shared.Value;

    /// <summary>Creates a pool.</summary>
    /// <param name="options">The options; null takes the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public SlabPool(SlabPoolOptions? options = null)
        : this(options ?? new SlabPoolOptions(), isShared: false)
    {
    }

    private SlabPool(SlabPoolOptions options, bool isShared)
    {
        options.Validate();
        SlabSize = options.SlabSize;
        _maxRetainedBytes = options.MaxRetainedBytes;
        TrimInterval = options.TrimInterval;
        _provider = options.Provider ?? PinnedArraySlabProvider.Instance;
        _isShared = isShared;

        long largestPooled = Math.Min((long)MaxPooledClassSlabs * SlabSize, _maxRetainedBytes / 4);
        while (_maxClass < 30 && ((long)SlabSize << (_maxClass + 1)) <= Math.Min(largestPooled, Array.MaxLength / 2))
        {
            _maxClass++;
        }

        _stacks = new Slab[_maxClass + 1][];
        for (int k = 0; k <= _maxClass; k++)
        {
            _stacks[k] = new Slab[k == 0 ? 16 : 4];
        }

        _counts = new int[_maxClass + 1];

        if (options.TrimInterval != Timeout.InfiniteTimeSpan)
        {
            // The timer holds the pool weakly so an undisposed pool can still be collected; it then stops itself.
            var state = new TrimTimerState(new WeakReference<SlabPool>(this));
            using (ExecutionContext.SuppressFlow())
            {
                _trimTimer = state.Timer = new Timer(static s => OnTrimTick((TrimTimerState)s!), state, options.TrimInterval, options.TrimInterval);
            }
        }
    }

    /// <summary>Bytes per slab.</summary>
    public int SlabSize { get; }

    /// <summary>The cap on bytes of idle slabs and oversize blocks kept by the pool.</summary>
    public long MaxRetainedBytes => _maxRetainedBytes;

    /// <summary>
    /// How often the pool gives idle slabs back (see <see cref="SlabPoolOptions.TrimInterval"/>);
    /// <see cref="Timeout.InfiniteTimeSpan"/> when it never does by itself.
    /// </summary>
    public TimeSpan TrimInterval { get; }

    /// <summary>The largest oversize block the pool keeps for reuse; larger ones go back to the provider at once.</summary>
    public int MaxPooledBlockLength => SlabSize << _maxClass;

    /// <summary>Where this pool's slabs come from.</summary>
    public ISlabProvider Provider => _provider;

    /// <summary>Gives every idle slab and oversize block back to the provider. Those held by arenas are not touched.</summary>
    /// <exception cref="Exception">
    /// The provider's own exception when its <see cref="ISlabProvider.Free"/> threw for one block, or an
    /// <see cref="AggregateException"/> of them for several; every idle block was still offered to it and has left the pool.
    /// </exception>
    public void Trim() => TrimCore(long.MaxValue);

    /// <summary>Reads the pool's counters.</summary>
    /// <returns>A consistent snapshot.</returns>
    public SlabPoolStatistics GetStatistics()
    {
        using (_gate.EnterScope())
        {
            int oversizePooled = 0;
            for (int k = 1; k <= _maxClass; k++)
            {
                oversizePooled += _counts[k];
            }

            // Unpooled blocks are counted outside the gate: returns first, so no block counts as returned before rented.
            long oversizeReturned = Volatile.Read(ref _oversizeReturned);
            long oversizeRented = Volatile.Read(ref _oversizeRented);
            return new SlabPoolStatistics
            {
                SlabsRented = _rented,
                SlabsReturned = _returned,
                SlabsInUse = _rented - _returned,
                PooledSlabs = _counts[0],
                PooledOversizeBlocks = oversizePooled,
                PooledBytes = _pooledBytes,
                MaxRetainedBytes = _maxRetainedBytes,
                ProviderAllocatedBytes = _providerAllocated,
                ProviderFreedBytes = _providerFreed,
                SlabsTrimmed = _trimmed,
                SlabsDropped = _dropped,
                ProviderFreeFailures = Volatile.Read(ref _providerFreeFailures),
                OversizeRented = oversizeRented,
                OversizeInUse = oversizeRented - oversizeReturned,
            };
        }
    }

    /// <summary>
    /// Gives every idle slab back to the provider and stops idle trimming. Slabs arenas still hold go back to the
    /// provider when they are returned. The shared pool cannot be disposed.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is <see cref="Shared"/>.</exception>
    /// <exception cref="Exception">As for <see cref="Trim"/>: the provider threw; the pool is disposed all the same.</exception>
    public void Dispose()
    {
        if (_isShared)
        {
            throw new InvalidOperationException("SlabPool.Shared is process-wide and cannot be disposed; call Trim() to release its idle slabs.");
        }

        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _trimTimer?.Dispose();
        TrimCore(long.MaxValue);
    }

    internal Slab Rent(bool zero) => RentClass(0, zero);

    // Whether the memory taken from the provider and not given back, plus `bytes`, stays within half the cap: arenas
    // only round a predicted first block up (more memory for fewer trips) while the pool has that much headroom, so
    // that near the cap the bigger blocks do not crowd out the slabs (blocks dropped at return, then allocated again).
    internal bool HasHeadroomFor(long bytes) =>
        Volatile.Read(ref _providerAllocated) - Volatile.Read(ref _providerFreed) + bytes <= _maxRetainedBytes / 2;

    // A block of SlabSize << sizeClass for an arena to carve (its first block after a cycle that outgrew one slab);
    // a plain slab when the pool does not keep blocks that large.
    internal Slab RentBlock(int sizeClass, bool zero) => RentClass(sizeClass <= _maxClass ? sizeClass : 0, zero);

    // A block of at least `length` bytes for an allocation larger than a slab: pooled by size class when it is not
    // too large, otherwise exactly the size asked for and freed at return.
    internal Slab RentOversize(int length, int alignment, bool zero)
    {
        int sizeClass = 1;
        while (sizeClass <= _maxClass && ((long)SlabSize << sizeClass) < length)
        {
            sizeClass++;
        }

        if (sizeClass <= _maxClass && alignment <= ArenaOptions.MaxAlignment)
        {
            return RentClass(sizeClass, zero);
        }

        return RentExact(length, alignment, zero);
    }

    // The length of the block RentOversize would hand out for `length` bytes.
    internal long OversizeLengthFor(int length, int alignment)
    {
        int sizeClass = 1;
        while (sizeClass <= _maxClass && ((long)SlabSize << sizeClass) < length)
        {
            sizeClass++;
        }

        return sizeClass <= _maxClass && alignment <= ArenaOptions.MaxAlignment ? (long)SlabSize << sizeClass : length;
    }

    // A block of exactly `length` bytes, not pooled: allocated from the provider now and freed at return. For an arena
    // whose quota leaves less room than a pooled block would take.
    internal Slab RentExact(int length, int alignment, bool zero)
    {
        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                ThrowHelper.ThrowPoolDisposed();
            }
        }

        Slab slab = AllocateFromProvider(length, Math.Max(alignment, IntPtr.Size), Slab.Unpooled);
        Interlocked.Increment(ref _oversizeRented);
        if (zero)
        {
            slab.Clear(slab.Length);
            slab.DirtyBytes = 0;
        }

        return slab;
    }

    // Everything an arena held, at its reset: one lock for all of it rather than one per block.
    internal void Return(ReadOnlySpan<SlabUse> slabs, bool zero)
    {
        // Clearing after the request rather than at hand-out keeps zeroing off the allocation path and off the
        // next request's latency; only the used prefix is touched. It happens before the lock, on the assumption
        // (nearly always true) that the pool has room; a block dropped at the cap was cleared for nothing.
        bool anyPooled = false;
        foreach (ref readonly SlabUse use in slabs)
        {
            Slab slab = use.Slab;
            if (slab.SizeClass == Slab.Unpooled)
            {
                continue;
            }

            anyPooled = true;
            if (zero)
            {
                slab.Clear(Math.Max(use.Used, slab.DirtyBytes));
                slab.DirtyBytes = 0;
            }
            else
            {
                slab.DirtyBytes = Math.Max(slab.DirtyBytes, use.Used);
            }
        }

        Slab[]? dropped = null;
        int droppedCount = 0;
        if (anyPooled)
        {
            using (_gate.EnterScope())
            {
                foreach (ref readonly SlabUse use in slabs)
                {
                    Slab slab = use.Slab;
                    int k = slab.SizeClass;
                    if (k == Slab.Unpooled)
                    {
                        continue;
                    }

                    if (k == 0)
                    {
                        _returned++;
                    }
                    else
                    {
                        Interlocked.Increment(ref _oversizeReturned);
                    }

                    _returnsSinceTick++;
                    if (!_disposed && _pooledBytes + slab.Length <= _maxRetainedBytes)
                    {
                        if (_counts[k] == _stacks[k].Length)
                        {
                            Array.Resize(ref _stacks[k], _stacks[k].Length * 2);
                        }

                        _stacks[k][_counts[k]++] = slab;
                        _pooledBytes += slab.Length;
                    }
                    else
                    {
                        _dropped++;
                        (dropped ??= new Slab[slabs.Length])[droppedCount++] = slab;
                    }
                }
            }
        }

        // Every block is offered to the provider even when one Free throws: the caller has let go of all of them.
        List<Exception>? errors = null;
        for (int i = 0; i < droppedCount; i++)
        {
            TryFreeToProvider(dropped![i], ref errors);
        }

        foreach (ref readonly SlabUse use in slabs)
        {
            if (use.Slab.SizeClass == Slab.Unpooled)
            {
                Interlocked.Increment(ref _oversizeReturned);
                TryFreeToProvider(use.Slab, ref errors);
            }
        }

        if (errors is not null)
        {
            ThrowHelper.ThrowProviderFreeFailed(errors);
        }
    }

    private void TryFreeToProvider(Slab slab, ref List<Exception>? errors)
    {
        try
        {
            FreeToProvider(slab);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _providerFreeFailures);
            (errors ??= []).Add(ex);
        }
    }

    private Slab RentClass(int sizeClass, bool zero)
    {
        Slab? slab = null;
        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                ThrowHelper.ThrowPoolDisposed();
            }

            if (sizeClass == 0)
            {
                _rented++;
            }
            else
            {
                Interlocked.Increment(ref _oversizeRented);
            }

            _rentsSinceTick++;
            if (_counts[sizeClass] > 0)
            {
                int top = --_counts[sizeClass];
                slab = _stacks[sizeClass][top];
                _stacks[sizeClass][top] = null!;
                _pooledBytes -= slab.Length;
            }
        }

        if (slab is null)
        {
            try
            {
                slab = AllocateFromProvider(SlabSize << sizeClass, ArenaOptions.MaxAlignment, sizeClass);
            }
            catch
            {
                using (_gate.EnterScope())
                {
                    if (sizeClass == 0)
                    {
                        _rented--;
                    }
                    else
                    {
                        Interlocked.Decrement(ref _oversizeRented);
                    }
                }

                throw;
            }
        }

        if (zero && slab.DirtyBytes > 0)
        {
            slab.Clear(slab.DirtyBytes);
            slab.DirtyBytes = 0;
        }

        return slab;
    }

    private Slab AllocateFromProvider(int length, int alignment, int sizeClass)
    {
        SlabProviderStatus status = _provider.Allocate(length, alignment, out SlabBlock block);
        if (status != SlabProviderStatus.Success || block.IsEmpty || block.Length < length || (block.Address & (alignment - 1)) != 0)
        {
            if (status == SlabProviderStatus.Success && !block.IsEmpty)
            {
                _provider.Free(block);
                status = SlabProviderStatus.Failure;
            }

            ThrowHelper.ThrowOutOfMemory(length, status);
        }

        Interlocked.Add(ref _providerAllocated, block.Length);
        return new Slab(block, sizeClass, length);
    }

    private void FreeToProvider(Slab slab)
    {
        Interlocked.Add(ref _providerFreed, slab.Block.Length);
        _provider.Free(slab.Block);
    }

    // Frees idle blocks, largest first, until at least `maxBytes` have gone (or the pool is empty).
    private void TrimCore(long maxBytes)
    {
        List<Slab>? victims = null;
        using (_gate.EnterScope())
        {
            long freed = 0;
            for (int k = _maxClass; k >= 0 && freed < maxBytes; k--)
            {
                while (_counts[k] > 0 && freed < maxBytes)
                {
                    int top = --_counts[k];
                    Slab slab = _stacks[k][top];
                    _stacks[k][top] = null!;
                    _pooledBytes -= slab.Length;
                    freed += slab.Length;
                    (victims ??= []).Add(slab);
                }
            }

            _trimmed += victims?.Count ?? 0;
        }

        // Every victim has left the pool: each is offered to the provider even when one Free throws.
        if (victims is not null)
        {
            List<Exception>? errors = null;
            foreach (Slab slab in victims)
            {
                TryFreeToProvider(slab, ref errors);
            }

            if (errors is not null)
            {
                ThrowHelper.ThrowProviderFreeFailed(errors);
            }
        }
    }

    internal void TrimTick()
    {
        long rents, returns, pooledBytes;
        using (_gate.EnterScope())
        {
            rents = _rentsSinceTick;
            returns = _returnsSinceTick;
            _rentsSinceTick = 0;
            _returnsSinceTick = 0;
            pooledBytes = _pooledBytes;
        }

        bool idle = rents == 0 && returns == 0;

        // Steady or growing traffic means the pool is the right size or too small: keep it.
        if (pooledBytes == 0 || (!idle && rents >= returns))
        {
            return;
        }

        // Idle: give back a quarter, at least 8 slabs' worth, so a burst drains in a handful of ticks.
        // Returns winning: the load is falling; give back a little.
        long toFree = idle
            ? Math.Max(8L * SlabSize, pooledBytes / 4)
            : Math.Max(SlabSize, pooledBytes / 100);
        try
        {
            TrimCore(toFree);
        }
        catch (Exception)
        {
            // An exception out of a timer callback ends the process. Every block was still offered to the provider,
            // and ProviderFreeFailures counts what it refused.
        }
    }

    private static void OnTrimTick(TrimTimerState state)
    {
        if (state.Pool.TryGetTarget(out SlabPool? pool))
        {
            pool.TrimTick();
        }
        else
        {
            state.Timer?.Dispose();
        }
    }

    private sealed class TrimTimerState(WeakReference<SlabPool> pool)
    {
        public WeakReference<SlabPool> Pool { get; } = pool;

        public Timer? Timer { get; set; }
    }
}
