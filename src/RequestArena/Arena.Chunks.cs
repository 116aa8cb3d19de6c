namespace RequestArena;

// The per-thread chunks and the gated slow path that gives them room: finding the calling thread's chunk, carving a
// region of the current slab for it, and retiring a region when the chunk moves on.
public sealed unsafe partial class Arena
{
    // The slow path: everything that needs the lock. Returns false only for a quota breach with throwOnLimit off.
    // `found` is the calling thread's chunk when the miss path already knows it, sparing the thread-local lookup.
    // `cycle` is AnyCycle, or the cycle a caller bound to one cycle started in (see AllocateMemory(int, long)).
    // `elementSize` is 1 for a byte count (cbAllocation), else the size of the element a typed caller counted in.
    private bool TryAllocateCore(long size, int alignment, bool throwOnLimit, ArenaChunk? found, out Region region, long cycle, int elementSize = 1)
    {
        using (_gate.EnterScope())
        {
            if (_disposed)
            {
                ThrowHelper.ThrowArenaDisposed();
            }

            if (cycle != AnyCycle && cycle != _cycle)
            {
                ThrowHelper.ThrowCycleEnded();
            }

            ArenaChunk chunk = ChunkForCurrentThread(found);
            long extraBudget = int.MaxValue;
            if (_maxBytes > 0)
            {
                // This thread's unused budget is being replaced, so it no longer counts against the quota.
                chunk.Limit = Math.Min(chunk.Limit, chunk.Offset);
                (long used, long committed) = UsageLocked();
                if (used + size <= _maxBytes && committed + size > _maxBytes)
                {
                    // Budget other threads hold but have not used (a request that hopped threads leaves some behind)
                    // would let the arena pass its quota; take it back. Their next allocation takes the slow path, and
                    // one already past its limit check is the one allocation each a race may overshoot by.
                    RevokeBudgetsLocked();
                    (used, committed) = UsageLocked();
                }

                if (used + size > _maxBytes)
                {
                    return RefuseLocked(size, used, forHeld: false, throwOnLimit, out region);
                }

                extraBudget = Math.Max(0, _maxBytes - committed - size);
            }

            // Judged after the quota so that a quota refuses an absurd size with its own, more telling error.
            if (size > MaxBlockSize)
            {
                if (elementSize == 1)
                {
                    ThrowHelper.ThrowTooLarge("cbAllocation", size, MaxBlockSize);
                }

                ThrowHelper.ThrowTooManyElements("count", size / elementSize, MaxBlockSize / elementSize);
            }

            // Every block an arena carves starts aligned to the largest alignment it can ask for (the pool rents them
            // so), so an allocation of up to a slab fits a fresh one with no padding in front.
            int aligned = (int)((size + _alignMask) & ~(long)_alignMask);
            if (aligned > _slabSize)
            {
                if (!TryRentOversizeLocked(aligned, alignment, out region))
                {
                    return RefuseLocked(size, AllocatedBytesLocked(), forHeld: true, throwOnLimit, out region);
                }

                _otherRequested += size;
                return true;
            }

            // Room left in this thread's chunk (a larger alignment than usual may need padding first).
            int start = chunk.IsPlaced ? AlignOffset(chunk.Base, chunk.Offset, alignment) : -1;
            if (start < 0 || start + aligned > chunk.End)
            {
                start = CarveLocked(chunk, aligned, alignment, extraBudget);
                if (start < 0)
                {
                    return RefuseLocked(size, AllocatedBytesLocked(), forHeld: true, throwOnLimit, out region);
                }
            }

            // Alignment padding beyond the arena's own and the round-up are not bytes handed out.
            int offset = start + aligned;
            chunk.SetState(offset, chunk.Padding + start - chunk.Offset + aligned - (int)size);
            chunk.Limit = offset + (int)Math.Min(chunk.End - offset, extraBudget & ~(long)_alignMask);
            region = new Region(chunk.MemoryOwner!, chunk.MemoryBase, chunk.Base, start);
            return true;
        }
    }

    // Gives the chunk a new region of at least `aligned` bytes after `alignment` padding; returns the start.
    private int CarveLocked(ArenaChunk chunk, int aligned, int alignment, long extraBudget)
    {
        // If this chunk was the last thing carved, its unused tail is still the slab's free space: carve over it
        // again instead of leaving a hole.
        int cursor = _cursor;
        if (_currentSlab >= 0 && chunk.Slab == _slabs[_currentSlab].Slab && chunk.End == cursor)
        {
            cursor = chunk.Offset;
        }

        int extra = (int)Math.Min(_grain, extraBudget);
        if (_maxBytes > 0)
        {
            // Under a quota every thread's region is small: unused region tails are memory held, and a request that
            // spreads over many threads must not hold a slab per thread.
            extra = (int)Math.Min(extra, Math.Max(_alignment, _maxBytes / QuotaRegionDivisor));
        }

        int start;
        if (_currentSlab >= 0)
        {
            start = AlignOffset(_slabs[_currentSlab].Slab.Address, cursor, alignment);
            if (start + aligned <= _slabs[_currentSlab].Slab.Length)
            {
                RetireRegionLocked(chunk);
                return Place(chunk, _currentSlab, start, aligned, extra);
            }
        }

        // Nothing has changed yet, and nothing may until the new slab is in hand: when the pool cannot supply one it
        // throws, and the chunk must keep its region (its tail is still its own to bump into) with the slab cursor
        // still past it. Retiring first would count the region twice, and a cursor rewound into the tail would let
        // the next carve hand the same bytes out again.
        Slab? slab = RentCarvedLocked(aligned, alignment, ref extra);
        if (slab is null)
        {
            return -1;
        }

        RetireRegionLocked(chunk);
        AddSlabLocked(slab, carved: true);
        _currentSlab = _slabCount - 1;
        start = AlignOffset(slab.Address, 0, alignment);
        return Place(chunk, _currentSlab, start, aligned, extra);
    }
    // Folds the chunk's current region into its totals and records how far it got into its slab, so that only
    // bytes actually handed out are cleared when the slab goes back. A release (killing) leaves State alone: the owner
    // may be storing a bump into it right now, and that store must survive for the release to read it back.
    private void RetireRegionLocked(ArenaChunk chunk, bool killing = false)
    {
        if (chunk.Slab is not null)
        {
            ref SlabUse use = ref _slabs[chunk.SlabIndex];
            use.Used = Math.Max(use.Used, chunk.Offset);
            if (!killing)
            {
                chunk.Retired += chunk.Offset - chunk.RegionStart - chunk.Padding;
                chunk.SetState(chunk.Offset, 0);
            }
        }
    }

    private int Place(ArenaChunk chunk, int slabIndex, int start, int aligned, int extra)
    {
        ref SlabUse use = ref _slabs[slabIndex];
        Slab slab = use.Slab;

        // The chunk's end must stay a multiple of the arena's alignment in address terms.
        long end = Math.Min((long)start + aligned + extra, slab.Length);
        end = AlignDown(slab.Address, (int)end, _alignment);
        _cursor = (int)end;
        _grain = (int)Math.Min(_grain * 2L, MaxGrain);

        // The new region starts where the chunk stands now; the padding up to `start` is counted by the caller.
        chunk.SetState(start, 0);
        chunk.RegionStart = start;
        chunk.SlabIndex = slabIndex;
        chunk.Slab = slab;
        chunk.End = (int)end;
        chunk.Base = slab.Address;
        (chunk.MemoryOwner, chunk.MemoryBase) = MemoryOwnerOf(use);
        return start;
    }

    // `found` came from this thread's slot, so it is this thread's own; otherwise the thread's chunk is looked up by
    // its Thread object, which no other live thread shares.
    private ArenaChunk ChunkForCurrentThread(ArenaChunk? found)
    {
        if (found is not null && !found.Detached)
        {
            ThreadChunkSlot<ArenaChunk>.Use(found);
            return found;
        }

        return ThreadChunkSlot<ArenaChunk>.ForCurrentThread(ref _chunks, ref _chunkCount, _newChunk);
    }

    private static int AlignOffset(byte* baseAddress, int offset, int alignment)
    {
        nint address = (nint)(baseAddress + offset);
        nint alignedAddress = (address + (alignment - 1)) & ~(nint)(alignment - 1);
        return offset + (int)(alignedAddress - address);
    }

    private static int AlignDown(byte* baseAddress, int offset, int alignment)
    {
        nint address = (nint)(baseAddress + offset);
        return offset - (int)(address & (alignment - 1));
    }
}
