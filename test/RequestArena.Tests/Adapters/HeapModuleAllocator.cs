using RequestArena;

namespace RequestArena.Tests.Adapters;

// A plain IModuleAllocator that is not an Arena: every allocation is its own managed array, optionally placed one
// byte into it so blocks are deliberately misaligned, and optionally filled with a non-zero byte the way a pooled
// buffer would be. It lets the tests drive the adapters' paths for allocators they know nothing about (exceptions
// instead of TryAllocate, memory that may move and is not zeroed, no cleanup registration).
internal sealed class HeapModuleAllocator(long maxBytes = 0, bool misalign = false, byte fill = 0) : IModuleAllocator
{
    private long _allocated;

    public bool Ended { get; set; }

    public long Allocated => _allocated;

    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cbAllocation);
        ObjectDisposedException.ThrowIf(Ended, this);
        if (maxBytes > 0 && _allocated + cbAllocation > maxBytes)
        {
            throw new ArenaLimitExceededException(maxBytes, cbAllocation, _allocated);
        }

        _allocated += cbAllocation;
        int skew = misalign ? 1 : 0;
        byte[] array = new byte[cbAllocation + skew];
        array.AsSpan().Fill(fill);
        return new Memory<byte>(array, skew, cbAllocation);
    }
}
