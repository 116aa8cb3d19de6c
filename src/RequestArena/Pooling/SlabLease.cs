using System.Buffers;

namespace RequestArena;

// One lease of one slab by one arena, between two resets. Every Memory<byte> the arena hands out from the slab
// points at this object, so marking it released makes all of them fail at once. A lease is never reused: a new
// one is created the next time the slab is rented, which costs one small allocation per slab per request rather
// than one per allocation.
internal sealed unsafe class SlabLease : MemoryManager<byte>
{
    private Slab? _slab;

    public SlabLease(Slab slab) => _slab = slab;

    public bool IsReleased => _slab is null;

    public override Span<byte> GetSpan()
    {
        Slab? slab = _slab;
        if (slab is null)
        {
            ThrowHelper.ThrowMemoryReleased();
        }

        return new Span<byte>(slab.Address, slab.Length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        Slab? slab = _slab;
        if (slab is null)
        {
            ThrowHelper.ThrowMemoryReleased();
        }

        if ((uint)elementIndex > (uint)slab.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(elementIndex));
        }

        // Slabs are pinned for their whole life, so there is nothing to unpin later.
        return new MemoryHandle(slab.Address + elementIndex);
    }

    public override void Unpin()
    {
    }

    public Memory<byte> Slice(int start, int length) => CreateMemory(start, length);

    public void Release() => _slab = null;

    protected override void Dispose(bool disposing)
    {
        // The arena owns the lease's lifetime; a caller disposing the manager must not release the slab early.
    }
}
