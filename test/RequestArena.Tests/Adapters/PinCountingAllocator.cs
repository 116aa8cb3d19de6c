using System.Buffers;
using System.Runtime.InteropServices;
using RequestArena;

namespace RequestArena.Tests.Adapters;

// An IModuleAllocator that is not an Arena and whose memory counts its pins: each block is a managed array behind a
// MemoryManager, so an adapter must pin it to keep an address, and a pin it never releases shows as Pinned > 0.
internal sealed class PinCountingAllocator : IModuleAllocator
{
    private long _pins;
    private long _unpins;

    // Pins taken and not released yet.
    public long Pinned => Interlocked.Read(ref _pins) - Interlocked.Read(ref _unpins);

    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cbAllocation);
        return new Block(this, new byte[cbAllocation]).Memory;
    }

    private sealed unsafe class Block(PinCountingAllocator owner, byte[] array) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => array;

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            Interlocked.Increment(ref owner._pins);
            GCHandle handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + elementIndex, handle, this);
        }

        public override void Unpin() => Interlocked.Increment(ref owner._unpins);

        protected override void Dispose(bool disposing)
        {
        }
    }
}
