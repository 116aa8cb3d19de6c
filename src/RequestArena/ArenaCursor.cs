using System.Runtime.CompilerServices;

namespace RequestArena;

/// <summary>
/// Allocates from one arena cycle on the thread that created it, for loops of many small allocations (per-field
/// copies, tokens, parsed records): it keeps the thread's chunk of the arena, so each allocation skips the
/// thread-static lookup that <see cref="Arena.AllocateMemory(int)"/> makes to find that chunk.
/// </summary>
/// <remarks>
/// <para>
/// Ownership stays exact without the lookup because a <c>ref struct</c> lives on one thread's stack: it cannot be
/// stored on the heap, captured by a lambda or kept across an <c>await</c>, so only the thread whose chunk it holds can
/// ever use it.
/// </para>
/// <para>
/// A cursor allocates in the arena cycle it was created in (a request, for a request's allocator). Once that cycle has
/// ended (<see cref="Arena.Reset"/>, <see cref="Arena.Dispose"/>, the end of the request) its calls throw
/// <see cref="ObjectDisposedException"/>, as a kept request allocator does; it never allocates from a later cycle.
/// The memory it hands out is the arena's like any other: zeroed, and checked after release, as the arena's options
/// say.
/// </para>
/// </remarks>
public ref struct ArenaCursor
{
    private readonly Arena? _arena;
    private readonly long _cycle;
    private ArenaChunk? _chunk;

    internal ArenaCursor(Arena arena, long cycle)
    {
        _arena = arena;
        _cycle = cycle;
        _chunk = arena.ChunkOfCurrentThread();
    }

    /// <summary>Allocates <paramref name="cbAllocation"/> bytes in the cursor's cycle.</summary>
    /// <param name="cbAllocation">The number of bytes.</param>
    /// <returns>Exactly <paramref name="cbAllocation"/> bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cbAllocation"/> is negative.</exception>
    /// <exception cref="ArenaLimitExceededException">The allocation would exceed the arena's quota.</exception>
    /// <exception cref="ObjectDisposedException">The cursor's cycle has ended, or the arena has been disposed.</exception>
    /// <exception cref="InvalidOperationException">The cursor is <c>default</c>, not created by an arena.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        // The cycle first: the thread may have carved its chunk again in a later cycle of a pooled arena, and a
        // release on another thread that lands after this check kills the chunk, which the bump then sees.
        ArenaChunk? chunk = _chunk;
        if (chunk is not null)
        {
            Arena arena = chunk.Owner;
            if (arena.IsCurrentCycle(_cycle) && arena.TryBump(chunk, cbAllocation, out int offset, out object owner))
            {
                return MemoryFactory.Create(owner, offset, cbAllocation);
            }
        }

        return AllocateMemoryMiss(cbAllocation);
    }

    // The arena's own path, bound to the cursor's cycle; then the chunk it left as the thread's own.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Memory<byte> AllocateMemoryMiss(int cbAllocation)
    {
        Arena arena = _arena ?? ThrowHelper.ThrowDefaultCursor();
        Memory<byte> memory = arena.AllocateMemory(cbAllocation, _cycle);
        _chunk = arena.ChunkOfCurrentThread();
        return memory;
    }
}
