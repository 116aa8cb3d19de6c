namespace RequestArena;

// The quota: bytes handed out and budget held by threads (read from one snapshot of each chunk), revoking budgets
// when the quota is nearly used up, and the bound on memory held (slabs, blocks, padding, unused regions, adapters'
// native blocks) of twice the quota, or of the first block when that is larger.
public sealed unsafe partial class Arena
{
    // How many more bytes the arena may hold: twice the quota, less what it holds; unlimited without a quota. An arena
    // that holds nothing may take `firstBlock`, the exact block its first allocation needs, whatever the quota: the
    // quota has already admitted that allocation, and under a quota smaller than the alignment twice the quota is less
    // than one aligned allocation.
    private long HeldRoomLocked(long firstBlock = 0)
    {
        long room = _maxBytes > 0 && _maxBytes <= long.MaxValue / 2 ? 2 * _maxBytes - _held : long.MaxValue;
        return _held == 0 ? Math.Max(room, firstBlock) : room;
    }

    // A refusal for the quota: the bytes handed out would pass it, or (forHeld) the memory the allocation needs would
    // take the arena past its bound on memory held (see HeldBytes). Throws, or returns false for TryAllocateMemory.
    private bool RefuseLocked(long size, long used, bool forHeld, bool throwOnLimit, out Region region)
    {
        _limitExceeded = true;
        if (throwOnLimit)
        {
            if (forHeld)
            {
                ThrowHelper.ThrowHeldLimitExceeded(_maxBytes, size, used, _held);
            }

            ThrowHelper.ThrowLimitExceeded(_maxBytes, size, used);
        }

        region = default;
        return false;
    }

    // Memory an adapter of this cycle holds outside the arena's slabs (native blocks), counted as held: false, and
    // nothing charged, when the quota's bound on memory held would be passed.
    bool IQuotaSource.TryChargeHeld(long bytes)
    {
        using (_gate.EnterScope())
        {
            if (_disposed || bytes > HeldRoomLocked())
            {
                return false;
            }

            _held += bytes;
            return true;
        }
    }

    void IQuotaSource.ReleaseHeld(long bytes)
    {
        using (_gate.EnterScope())
        {
            _held = Math.Max(0, _held - bytes);
        }
    }

    private long AllocatedBytesLocked() => UsageLocked().Used;

    // Bytes handed out, and those plus the budget threads hold and have not used yet (each chunk read once, see
    // ArenaChunk.Usage, so the second figure stays exact while owners bump).
    private (long Used, long Committed) UsageLocked()
    {
        long used = _otherRequested;
        long unused = 0;
        for (int i = 0; i < _chunkCount; i++)
        {
            used += _chunks[i].Usage(out long chunkUnused);
            unused += chunkUnused;
        }

        return (used, used + unused);
    }

    // Sends every thread to the slow path for its next allocation. Limit becomes 0 rather than the owner's current
    // offset: a value computed from a read of the offset would let the owner keep bumping under the old limit for as
    // long as this thread took between that read and the write, while 0 stops every bump that starts after the write,
    // so only the one already past its check gets through.
    //
    // The owners bump with plain loads and stores, so right after the write their latest bumps may still sit in their
    // cores' store buffers, invisible to a read of their state here, and the revocation itself may not be visible to
    // them yet. The process-wide barrier drains both: after it, a read of an owner's state misses at most the one bump
    // that had already passed its check. It costs a few microseconds, paid only on this path (a quota nearly used up
    // by several threads).
    private void RevokeBudgetsLocked()
    {
        // Only a budget another thread may be using right now needs the barrier; a pooled arena being given its next
        // request's quota, whose chunks were all killed at release, must not pay it on every request.
        Thread current = Thread.CurrentThread;
        bool othersHeldBudget = false;
        for (int i = 0; i < _chunkCount; i++)
        {
            ArenaChunk chunk = _chunks[i];
            if (Volatile.Read(ref chunk.Limit) != 0)
            {
                othersHeldBudget |= chunk.Thread != current;
                Volatile.Write(ref chunk.Limit, 0);
            }
        }

        if (othersHeldBudget)
        {
            Interlocked.MemoryBarrierProcessWide();
        }
    }

    // Under a quota a region (a thread's chunk) is at most this fraction of the quota.
    private const int QuotaRegionDivisor = 32;
}
