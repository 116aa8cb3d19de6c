using System.Buffers;

namespace RequestArena.Benchmarks;

/// <summary>
/// The allocation loops more than one class times as its baseline or reference, kept in one place so that a row with
/// the same name does the same work in every table.
/// </summary>
internal static class AllocationLoops
{
    /// <summary><paramref name="count"/> allocations of <paramref name="size"/> bytes, then a reset.</summary>
    public static long ArenaThenReset(Arena arena, int count, int size)
    {
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            total += arena.AllocateMemory(size).Length;
        }

        arena.Reset();
        return total;
    }

    /// <summary>
    /// <paramref name="count"/> allocations of <paramref name="size"/> bytes through <see cref="IModuleAllocator"/>, then
    /// a reset: the raw arena behind the same interface call a handler's injected allocator makes.
    /// </summary>
    public static long ArenaThroughInterfaceThenReset(IModuleAllocator allocator, Arena arena, int count, int size)
    {
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            total += allocator.AllocateMemory(size).Length;
        }

        arena.Reset();
        return total;
    }

    /// <summary>
    /// <paramref name="count"/> allocations of <paramref name="size"/> bytes through one <see cref="ArenaCursor"/> taken
    /// from <paramref name="allocator"/>: a raw arena, or a request's allocator inside its handler.
    /// </summary>
    public static long ThroughCursor(IArenaAllocator allocator, int count, int size)
    {
        ArenaCursor cursor = allocator.CreateCursor();
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            total += cursor.AllocateMemory(size).Length;
        }

        return total;
    }

    /// <summary>One <c>new byte[size]</c> per slot of <paramref name="held"/>, each kept there.</summary>
    public static long NewArrays(byte[][] held, int size)
    {
        long total = 0;
        for (int i = 0; i < held.Length; i++)
        {
            held[i] = new byte[size];
            total += held[i].Length;
        }

        return total;
    }

    /// <summary>One ArrayPool rent per slot of <paramref name="held"/>, all held, then all returned cleared.</summary>
    public static long ArrayPoolHoldAllThenReturn(byte[][] held, int size)
    {
        long total = 0;
        for (int i = 0; i < held.Length; i++)
        {
            held[i] = ArrayPool<byte>.Shared.Rent(size);
            total += size;
        }

        for (int i = 0; i < held.Length; i++)
        {
            ArrayPool<byte>.Shared.Return(held[i], clearArray: true);
        }

        return total;
    }
}
