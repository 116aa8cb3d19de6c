namespace RequestArena;

/// <summary>
/// Hands out memory that lives as long as the current pool (in ASP.NET Core: the current request) and is
/// reclaimed all at once when that pool ends. Mirrors IIS <c>IModuleAllocator::AllocateMemory</c>.
/// </summary>
public interface IModuleAllocator
{
    /// <summary>
    /// Allocates <paramref name="cbAllocation"/> bytes from the current pool. The memory is never freed one
    /// piece at a time; it is reclaimed when the pool ends, after which touching it throws
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    /// <param name="cbAllocation">The number of bytes; 0 returns empty memory.</param>
    /// <returns>Exactly <paramref name="cbAllocation"/> bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="cbAllocation"/> is negative, or larger than the largest allocation an arena serves.
    /// </exception>
    /// <exception cref="ArenaLimitExceededException">The allocation would exceed the pool's quota.</exception>
    /// <exception cref="ObjectDisposedException">The pool has ended.</exception>
    Memory<byte> AllocateMemory(int cbAllocation);
}
