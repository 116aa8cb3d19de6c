using System.Buffers;

namespace RequestArena;

// One lease of one slab by one arena, between two resets. Every Memory<byte> the arena hands out from the slab
// points at this object, so marking it released makes all of them fail at once. A lease is never reused: a new
// one is created the next time the slab is rented, which costs one small allocation per slab per request rather
// than one per allocation.
internal sealed unsafe class SlabLease : MemoryManager<byte>
{
    // The slab's address and length copied in, so .Span (virtual, or guarded-devirtualised and inlined into a hot
    // caller such as Utf8JsonWriter) reads this object only: one null test, no hop through the Slab. Null once
    // released.
    private byte* _address;
    private readonly int _length;

    public SlabLease(Slab slab)
    {
        _address = slab.Address;
        _length = slab.Length;
    }

    public bool IsReleased => _address == null;

    public override Span<byte> GetSpan()
    {
        byte* address = _address;
        if (address == null)
        {
            ThrowHelper.ThrowMemoryReleased();
        }

        return new Span<byte>(address, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        byte* address = _address;
        if (address == null)
        {
            ThrowHelper.ThrowMemoryReleased();
        }

        if ((uint)elementIndex > (uint)_length)
        {
            throw new ArgumentOutOfRangeException(nameof(elementIndex));
        }

        // Slabs are pinned for their whole life, so there is nothing to unpin later.
        return new MemoryHandle(address + elementIndex);
    }

    public override void Unpin()
    {
    }

    public Memory<byte> Slice(int start, int length) => CreateMemory(start, length);

    public void Release() => _address = null;

    protected override void Dispose(bool disposing)
    {
        // The arena owns the lease's lifetime; a caller disposing the manager must not release the slab early.
    }
}
