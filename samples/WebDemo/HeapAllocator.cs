using RequestArena;

namespace WebDemo;

/// <summary>The <see cref="AllocMode.New"/> buffer source: a fresh array per allocation, left to the GC.</summary>
internal sealed class HeapAllocator : IModuleAllocator
{
    public static readonly HeapAllocator Instance = new();

    private HeapAllocator()
    {
    }

    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cbAllocation);
        return cbAllocation == 0 ? Memory<byte>.Empty : new byte[cbAllocation];
    }
}
