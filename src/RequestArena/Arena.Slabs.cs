namespace RequestArena;

// The slab list: renting the next block to carve (or an oversize block) within the bound on memory held, recording it,
// and what Memory<byte> handed out from it points at.
public sealed unsafe partial class Arena
{
    // The next block to carve regions from: the predicted first block, a slab, or, when the quota leaves less room for
    // memory held than that, an unpooled block of just what fits (extra shrinks to match). Null when not even the
    // allocation itself fits in the room left.
    private Slab? RentCarvedLocked(int aligned, int alignment, ref int extra)
    {
        int sizeClass = _currentSlab < 0 && _firstBlockClass > 0 ? _firstBlockClass : 0;
        long room = HeldRoomLocked(firstBlock: aligned);
        if (((long)_slabSize << sizeClass) <= room)
        {
            return sizeClass > 0 ? _pool.RentBlock(sizeClass, _zero) : _pool.Rent(_zero);
        }

        if ((long)_slabSize <= room)
        {
            return _pool.Rent(_zero);
        }

        // The provider aligns the block's start to `alignment`, so the allocation needs no padding in front.
        long need = aligned;
        if (need > room)
        {
            return null;
        }

        extra = (int)Math.Min(extra, room - need);
        return _pool.RentExact((int)(need + extra), alignment, _zero);
    }

    private bool TryRentOversizeLocked(int aligned, int alignment, out Region region)
    {
        // A pooled size class may be up to twice the allocation: take exactly the allocation when the class would
        // hold more than the quota allows.
        long room = HeldRoomLocked(firstBlock: aligned);
        Slab slab;
        if (_pool.OversizeLengthFor(aligned, alignment) <= room)
        {
            slab = _pool.RentOversize(aligned, alignment, _zero);
        }
        else if (aligned <= room)
        {
            slab = _pool.RentExact(aligned, alignment, _zero);
        }
        else
        {
            region = default;
            return false;
        }

        int index = AddSlabLocked(slab, carved: false);   // may grow _slabs, so index only afterwards
        ref SlabUse use = ref _slabs[index];
        int start = AlignOffset(slab.Address, 0, alignment);
        use.Used = start + aligned;
        (object owner, int memoryBase) = MemoryOwnerOf(use);
        region = new Region(owner, memoryBase, slab.Address, start);
        return true;
    }

    // Checked memory points at the slab's lease so it dies with the arena; unchecked memory is a plain slice of the
    // slab's pinned array (or, for native slabs, of a lease that is never released).
    private (object Owner, int MemoryBase) MemoryOwnerOf(in SlabUse use)
    {
        if (_checked)
        {
            return (use.Lease!, 0);
        }

        return use.Slab.Array is { } array
            ? (array, use.Slab.ArrayOffset | MemoryFactory.PinnedArrayFlag)
            : (use.Slab.PermanentLease, 0);
    }

    private int AddSlabLocked(Slab slab, bool carved)
    {
        if (_slabCount == _slabs.Length)
        {
            Array.Resize(ref _slabs, _slabs.Length * 2);
        }

        _slabs[_slabCount] = new SlabUse(slab, _checked ? new SlabLease(slab) : null, carved);
        _held += slab.Length;
        Volatile.Write(ref _slabsRented, _slabsRented + 1);   // only ever written under the gate
        return _slabCount++;
    }
}
