using RequestArena;

namespace WebDemo;

/// <summary>Passes allocations through and adds up the bytes asked for: the dashboard's "scratch bytes" per mode.</summary>
internal sealed class CountingAllocator(IModuleAllocator inner) : IModuleAllocator
{
    public long BytesRequested { get; private set; }

    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        Memory<byte> memory = inner.AllocateMemory(cbAllocation);
        BytesRequested += cbAllocation;
        return memory;
    }
}
