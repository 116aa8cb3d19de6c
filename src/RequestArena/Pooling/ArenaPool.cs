using System.Runtime.ExceptionServices;
using Microsoft.Extensions.ObjectPool;

namespace RequestArena;

/// <summary>
/// Pools <see cref="Arena"/> objects (with Microsoft.Extensions.ObjectPool) so a request pays no arena construction.
/// Every arena it hands out shares one <see cref="SlabPool"/> and one set of <see cref="ArenaOptions"/>.
/// </summary>
public sealed class ArenaPool
{
    private readonly ObjectPool<Arena> _pool;
    private readonly ArenaOptions _options;   // validated once, in the constructor, and never handed out

    /// <summary>Creates a pool of arenas.</summary>
    /// <param name="slabPool">Where the arenas rent slabs.</param>
    /// <param name="options">Options every arena gets (copied); null takes the defaults.</param>
    /// <param name="maximumRetained">Idle arenas kept; default <c>Environment.ProcessorCount * 4</c>.</param>
    /// <exception cref="ArgumentException">
    /// An option is out of range, or <see cref="ArenaOptions.DetectUseAfterRelease"/> is off on a slab pool whose
    /// provider frees its blocks (<see cref="ISlabProvider.BlocksOutliveRelease"/> false).
    /// </exception>
    public ArenaPool(SlabPool slabPool, ArenaOptions? options = null, int maximumRetained = 0)
    {
        ArgumentNullException.ThrowIfNull(slabPool);
        ArgumentOutOfRangeException.ThrowIfNegative(maximumRetained);
        _options = options?.Clone() ?? new ArenaOptions();
        _options.Validate(slabPool);
        SlabPool = slabPool;
        MaximumRetained = maximumRetained == 0 ? Environment.ProcessorCount * 4 : maximumRetained;
        _pool = new DefaultObjectPool<Arena>(new Policy(this, slabPool, _options), MaximumRetained);
    }

    /// <summary>The slab pool the arenas share.</summary>
    public SlabPool SlabPool { get; }

    /// <summary>A copy of the options every arena gets; changing it changes nothing in the pool.</summary>
    /// <remarks>
    /// A fresh copy on every read: the pool's own options were validated against its slab pool once, and an arena
    /// created later must not get options that skipped that validation.
    /// </remarks>
    public ArenaOptions Options => _options.Clone();

    /// <summary>Idle arenas kept at most.</summary>
    public int MaximumRetained { get; }

    /// <summary>Takes an empty arena.</summary>
    /// <returns>An arena with nothing allocated.</returns>
    public Arena Rent()
    {
        Arena arena = _pool.Get();
        Volatile.Write(ref arena.Rented, 1);
        return arena;
    }

    /// <summary>
    /// Resets <paramref name="arena"/> (cleanups, slabs back to the slab pool, memory invalidated) and keeps it for
    /// the next <see cref="Rent"/>. The arena must not be used afterwards.
    /// </summary>
    /// <param name="arena">An arena from <see cref="Rent"/>.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="arena"/> was not rented from this pool: an arena with other options (or with none of this pool's
    /// validation) would otherwise be handed to a later renter.
    /// </exception>
    /// <exception cref="InvalidOperationException">
    /// <paramref name="arena"/> has been returned already and not rented again: pooling it twice would hand one arena
    /// to two renters at once.
    /// </exception>
    /// <remarks>
    /// The arena is pooled only when this reset ran its release to the end. One that a cleanup disposes during the reset,
    /// or whose reset joined a release under way on another thread (which ends the cycle only later), is dropped; the
    /// next rent creates one.
    /// </remarks>
    /// <exception cref="AggregateException">A cleanup threw; the arena was still fully reset and pooled.</exception>
    /// <exception cref="Exception">
    /// The slab provider threw while freeing a block (its own exception, as <see cref="Arena.Reset"/> reports it); the
    /// arena had let go of every slab and was still pooled.
    /// </exception>
    public void Return(Arena arena) => Return(arena, out _);

    // Return, and the arena's SlabsRented once its cycle has ended: allocations of the cycle can still rent slabs while
    // its cleanups run inside the reset, so a count taken before Return misses them, and one taken after it may already
    // include the next renter's.
    internal void Return(Arena arena, out long slabsRented)
    {
        ArgumentNullException.ThrowIfNull(arena);
        if (arena.OwnerPool != this)
        {
            throw new ArgumentException("The arena was not rented from this pool.", nameof(arena));
        }

        if (Interlocked.Exchange(ref arena.Rented, 0) == 0)
        {
            throw new InvalidOperationException("The arena has been returned to the pool already; it must not be used after Return.");
        }

        // The policy resets; a failure of the release surfaces only after the arena is clean and back in the pool. Taken
        // whatever happens, so it can never be left for a later Return on this thread to report.
        Exception? failure;
        try
        {
            _pool.Return(arena);
        }
        finally
        {
            failure = Policy.TakeReleaseFailure(out slabsRented);
        }

        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    private sealed class Policy(ArenaPool owner, SlabPool slabPool, ArenaOptions options) : PooledObjectPolicy<Arena>
    {
        [ThreadStatic]
        private static Exception? t_releaseFailure;

        [ThreadStatic]
        private static long t_slabsRented;

        public static Exception? TakeReleaseFailure(out long slabsRented)
        {
            Exception? failure = t_releaseFailure;
            t_releaseFailure = null;
            slabsRented = t_slabsRented;
            t_slabsRented = 0;
            return failure;
        }

        public override Arena Create() => new(slabPool, options) { OwnerPool = owner };

        public override bool Return(Arena obj)
        {
            try
            {
                return ResetForPool(obj);
            }
            finally
            {
                // After the reset and before the pool can hand the arena out again.
                t_slabsRented = obj.SlabsRented;
            }
        }

        private bool ResetForPool(Arena obj)
        {
            try
            {
                // False for an arena already disposed, and for a reset that joined a release under way on another
                // thread (a Dispose, or a Reset whose cleanups are still running): that leaves the cycle open until the
                // release ends, and a renter given the arena now would allocate memory that release then takes away.
                if (!obj.ResetForReuse())
                {
                    return false;
                }
            }
            catch (Exception ex)
            {
                // Reset throws only once its work is done (cleanups that threw, or the slab provider's Free after every
                // slab had left the arena), so the arena is clean and can be reused.
                t_releaseFailure = ex;
            }

            // A cleanup may have disposed the arena during that reset: it is not pooled then.
            if (obj.IsDisposed)
            {
                return false;
            }

            // A renter may have changed the quota; the next one gets the pool's.
            obj.MaxBytes = options.MaxBytes;

            return true;
        }
    }
}
