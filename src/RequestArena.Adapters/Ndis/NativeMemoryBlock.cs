using System.Buffers;
using System.Runtime.InteropServices;

namespace RequestArena.Adapters;

// A block of native memory handed out as Memory<byte>. Freeing it marks the manager dead before the memory goes
// back, so a Memory<byte> kept past the free throws ObjectDisposedException instead of reading freed memory.
internal sealed unsafe class NativeMemoryBlock : MemoryManager<byte>
{
    private byte* _pointer;
    private readonly int _length;

    public NativeMemoryBlock(byte* pointer, int length)
    {
        _pointer = pointer;
        _length = length;
    }

    public nint Address => (nint)_pointer;

    public int Length => _length;

    public override Span<byte> GetSpan()
    {
        byte* pointer = _pointer;
        if (pointer is null)
        {
            ThrowHelper.ThrowMemoryReleased();
        }

        return new Span<byte>(pointer, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        byte* pointer = _pointer;
        if (pointer is null)
        {
            ThrowHelper.ThrowMemoryReleased();
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));

        // Native memory never moves; there is nothing to unpin.
        return new MemoryHandle(pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    public void Free()
    {
        byte* pointer = _pointer;
        _pointer = null;
        if (pointer is not null)
        {
            NativeMemory.AlignedFree(pointer);
        }
    }

    protected override void Dispose(bool disposing)
    {
        // The allocator owns the block's lifetime; a caller disposing the manager must not free it early.
    }
}
