namespace RequestArena;

/// <summary>
/// A bounded pool of pinned slabs shared by arenas. It keeps at most <see cref="SlabPoolOptions.MaxRetainedBytes"/>
/// of idle slabs, gives idle slabs back to its <see cref="ISlabProvider"/> over time, and keeps every pooled slab
/// clean enough for an arena that zeroes: a slab is cleared (only the part that was used) before it can be handed
/// out to an arena that zeroes.
/// </summary>
/// <remarks>
/// Rent and return take a lock: an arena touches the pool once per slab (64 KiB by default), not per allocation,
/// so a striped or lock-free pool would buy nothing measurable here.
/// </remarks>
public sealed class SlabPool : IDisposable
{
    private static readonly Lazy<SlabPool> s_shared = new(() => new SlabPool(new SlabPoolOptions(), isShared: true));

    private readonly Lock _lock = new();
    private readonly ISlabProvider _provider;
    private readonly long _maxRetainedBytes;
    private readonly bool _isShared;
    private readonly Timer? _trimTimer;

    private Slab[] _pooled = new Slab[16];
    private int _pooledCount;
    private bool _disposed;

    private long _rented;
    private long _returned;
    private long _oversizeRented;
    private long _oversizeReturned;
    private long _providerAllocated;
    private long _providerFreed;
    private long _trimmed;
    private long _dropped;

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
        _provider = options.Provider ?? PinnedArraySlabProvider.Instance;
        _isShared = isShared;

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

    /// <summary>The cap on bytes of idle slabs kept by the pool.</summary>
    public long MaxRetainedBytes => _maxRetainedBytes;

    /// <summary>Where this pool's slabs come from.</summary>
    public ISlabProvider Provider => _provider;

    /// <summary>Gives every idle slab back to the provider. Slabs held by arenas are not touched.</summary>
    public void Trim() => TrimCore(int.MaxValue);

    /// <summary>Reads the pool's counters.</summary>
    /// <returns>A consistent snapshot.</returns>
    public SlabPoolStatistics GetStatistics()
    {
        lock (_lock)
        {
            return new SlabPoolStatistics
            {
                SlabsRented = _rented,
                SlabsReturned = _returned,
                SlabsInUse = _rented - _returned,
                PooledSlabs = _pooledCount,
                PooledBytes = (long)_pooledCount * SlabSize,
                MaxRetainedBytes = _maxRetainedBytes,
                ProviderAllocatedBytes = _providerAllocated,
                ProviderFreedBytes = _providerFreed,
                SlabsTrimmed = _trimmed,
                SlabsDropped = _dropped,
                OversizeRented = _oversizeRented,
                OversizeInUse = _oversizeRented - _oversizeReturned,
            };
        }
    }

    /// <summary>
    /// Gives every idle slab back to the provider and stops idle trimming. Slabs arenas still hold go back to the
    /// provider when they are returned. The shared pool cannot be disposed.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is <see cref="Shared"/>.</exception>
    public void Dispose()
    {
        if (_isShared)
        {
            throw new InvalidOperationException("SlabPool.Shared is process-wide and cannot be disposed; call Trim() to release its idle slabs.");
        }

        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _trimTimer?.Dispose();
        TrimCore(int.MaxValue);
    }

    internal Slab Rent(bool zero)
    {
        Slab? slab = null;
        lock (_lock)
        {
            if (_disposed)
            {
                ThrowHelper.ThrowPoolDisposed();
            }

            _rented++;
            _rentsSinceTick++;
            if (_pooledCount > 0)
            {
                slab = _pooled[--_pooledCount];
                _pooled[_pooledCount] = null!;
            }
        }

        if (slab is null)
        {
            try
            {
                slab = AllocateFromProvider(SlabSize, ArenaOptions.MaxAlignment, oversize: false);
            }
            catch
            {
                lock (_lock)
                {
                    _rented--;
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

    // Everything an arena held, at its reset: one lock for all of it rather than one per slab.
    internal void Return(ReadOnlySpan<Arena.SlabUse> slabs, bool zero)
    {
        // Clearing after the request rather than at hand-out keeps zeroing off the allocation path and off the
        // next request's latency; only the used prefix is touched. It happens before the lock, on the assumption
        // (nearly always true) that the pool has room; a slab dropped at the cap was cleared for nothing.
        int regular = 0;
        foreach (ref readonly Arena.SlabUse use in slabs)
        {
            Slab slab = use.Slab;
            if (slab.Oversize)
            {
                continue;
            }

            regular++;
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
        if (regular > 0)
        {
            lock (_lock)
            {
                _returned += regular;
                _returnsSinceTick += regular;
                foreach (ref readonly Arena.SlabUse use in slabs)
                {
                    if (use.Slab.Oversize)
                    {
                        continue;
                    }

                    if (!_disposed && (long)(_pooledCount + 1) * SlabSize <= _maxRetainedBytes)
                    {
                        if (_pooledCount == _pooled.Length)
                        {
                            Array.Resize(ref _pooled, _pooled.Length * 2);
                        }

                        _pooled[_pooledCount++] = use.Slab;
                    }
                    else
                    {
                        _dropped++;
                        (dropped ??= new Slab[regular])[droppedCount++] = use.Slab;
                    }
                }
            }
        }

        for (int i = 0; i < droppedCount; i++)
        {
            FreeToProvider(dropped![i]);
        }

        // Oversize blocks are never pooled: they go straight back to the provider.
        foreach (ref readonly Arena.SlabUse use in slabs)
        {
            if (use.Slab.Oversize)
            {
                ReturnOversize(use.Slab);
            }
        }
    }

    internal Slab RentOversize(int length, int alignment, bool zero)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                ThrowHelper.ThrowPoolDisposed();
            }
        }

        Slab slab = AllocateFromProvider(length, Math.Max(alignment, IntPtr.Size), oversize: true);
        Interlocked.Increment(ref _oversizeRented);
        if (zero)
        {
            slab.Clear(slab.Length);
            slab.DirtyBytes = 0;
        }

        return slab;
    }

    internal void ReturnOversize(Slab slab)
    {
        Interlocked.Increment(ref _oversizeReturned);
        FreeToProvider(slab);
    }

    private Slab AllocateFromProvider(int length, int alignment, bool oversize)
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
        return new Slab(block, oversize);
    }

    private void FreeToProvider(Slab slab)
    {
        Interlocked.Add(ref _providerFreed, slab.Length);
        _provider.Free(slab.Block);
    }

    private void TrimCore(int maxSlabs)
    {
        Slab[] victims;
        int count;
        lock (_lock)
        {
            count = Math.Min(maxSlabs, _pooledCount);
            if (count == 0)
            {
                return;
            }

            victims = new Slab[count];
            for (int i = 0; i < count; i++)
            {
                victims[i] = _pooled[--_pooledCount];
                _pooled[_pooledCount] = null!;
            }

            _trimmed += count;
        }

        foreach (Slab slab in victims)
        {
            FreeToProvider(slab);
        }
    }

    internal void TrimTick()
    {
        long rents, returns;
        int pooled;
        lock (_lock)
        {
            rents = _rentsSinceTick;
            returns = _returnsSinceTick;
            _rentsSinceTick = 0;
            _returnsSinceTick = 0;
            pooled = _pooledCount;
        }

        bool idle = rents == 0 && returns == 0;

        // Steady or growing traffic means the pool is the right size or too small: keep it.
        if (pooled == 0 || (!idle && rents >= returns))
        {
            return;
        }

        // Idle: give back a quarter, at least 8 slabs, so a burst drains in a handful of ticks.
        // Returns winning: the load is falling; give back a little.
        int toFree = idle
            ? Math.Max(8, pooled / 4)
            : Math.Max(1, pooled / 100);
        TrimCore(toFree);
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
