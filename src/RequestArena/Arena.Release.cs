namespace RequestArena;

// Release (Reset and Dispose): cleanups in reverse order, killing every chunk, ending the cycle, returning every slab,
// and the first block the next cycle predicts from this one.
public sealed unsafe partial class Arena
{
    // Returns false when the call joined a release under way instead of running one: the cycle ends later, when that
    // release does. `forReuse` (a pool's reset) answers false, instead of throwing, for an arena that is or will be
    // disposed, so that any exception it lets out comes from a release that ran.
    private bool Release(bool dispose, bool forReuse = false)
    {
        // One release at a time, and none waits for another: a Reset or Dispose while one is under way (from one of its
        // cleanups, or from another thread) joins it and returns. The release under way still runs the cleanups left,
        // registered before and so run after the one that asked, which may use the cycle's memory; it ends the cycle
        // only then, and ends the arena disposed when a dispose was asked for. Waiting instead would deadlock a cleanup
        // that waits for a thread releasing this arena, or two arenas whose cleanups release each other.
        using (_gate.EnterScope())
        {
            if (_releasing)
            {
                if (dispose)
                {
                    _disposeAsked = true;
                }
                else if (_disposeAsked && !forReuse)
                {
                    // The release under way ends the arena disposed: a reset of it is a reset of a disposed arena.
                    ThrowHelper.ThrowArenaDisposed();
                }

                return false;
            }

            if (_disposed)
            {
                if (dispose || forReuse)
                {
                    return dispose;
                }

                ThrowHelper.ThrowArenaDisposed();
            }

            _releasing = true;
            _disposeAsked = dispose;
        }

        bool ended = false;
        try
        {
            ReleaseCore(dispose, ref ended);
            return true;
        }
        finally
        {
            // Only if the release failed before its end (which clears the flag itself, after which another release may
            // already be under way): left set, every later Reset would join a release that no longer runs.
            if (!ended)
            {
                using (_gate.EnterScope())
                {
                    _releasing = false;
                    _disposeAsked = false;
                }
            }
        }
    }

    private void ReleaseCore(bool dispose, ref bool ended)
    {
        // Cleanups first: they may still read or flush arena memory. A cleanup registered on another thread after they
        // ran and before the gate below would belong to neither this cycle's run nor, once the arena is disposed, any
        // later one: the gate sends the release back to run it, so every registration that was accepted is disposed.
        List<Exception>? errors = null;
        while (true)
        {
            if (Volatile.Read(ref _cleanupCount) != 0)
            {
                errors = RunCleanups(errors);
            }

            try
            {
                using (_gate.EnterScope())
                {
                    if (_cleanupCount == 0)
                    {
                        // Under the gate with the joins above, so a dispose asked for is either seen here or made by a
                        // release of its own once this one has ended.
                        try
                        {
                            ReleaseLocked(dispose || _disposeAsked);
                        }
                        finally
                        {
                            _releasing = false;
                            _disposeAsked = false;
                            ended = true;
                        }

                        break;
                    }
                }
            }
            catch (Exception providerFailure)
            {
                // The slab provider threw after every slab had left the arena: report it with the cleanups' failures
                // instead of losing those. Decided inside the handler, not by an exception filter: a filter runs before
                // the gate's and the flags' finally blocks, and the JIT's optimised code of this method was seen to hand
                // the handler a null exception when one was used.
                if (errors is null)
                {
                    throw;
                }

                errors.Add(providerFailure);
                break;
            }
        }

        if (errors is not null)
        {
            throw new AggregateException("One or more arena cleanups threw, or the slab provider did after them; every cleanup still ran and every slab was returned.", errors);
        }
    }

    // Threads that stopped using the arena, or exited, keep nothing alive through it for long: a chunk no thread placed
    // for ChunkIdleReleases releases is dropped, and past MaxChunksKept the least recently placed go first, so the
    // chunks kept are those of the threads using the arena now, not of the first ones that ever did.
    private void TrimChunksLocked(bool dispose)
    {
        int kept = 0;
        for (int i = 0; i < _chunkCount; i++)
        {
            ArenaChunk chunk = _chunks[i];
            if (!dispose && _releases - chunk.LastUsed < ChunkIdleReleases)
            {
                _chunks[kept++] = chunk;
            }
            else
            {
                chunk.Detached = true;
            }
        }

        while (kept > MaxChunksKept)
        {
            int oldest = 0;
            for (int i = 1; i < kept; i++)
            {
                if (_chunks[i].LastUsed < _chunks[oldest].LastUsed)
                {
                    oldest = i;
                }
            }

            _chunks[oldest].Detached = true;
            Array.Copy(_chunks, oldest + 1, _chunks, oldest, kept - oldest - 1);
            kept--;
        }

        Array.Clear(_chunks, kept, _chunkCount - kept);
        _chunkCount = kept;
    }

    private void ReleaseLocked(bool dispose)
    {
        if (dispose)
        {
            Volatile.Write(ref _disposed, true);
        }

        Volatile.Write(ref _cycle, Interlocked.Increment(ref s_lastCycle));
        _limitExceeded = false;

        int threadsUsed = 0;
        for (int i = 0; i < _chunkCount; i++)
        {
            if (_chunks[i].Slab is not null)
            {
                threadsUsed++;
                _chunks[i].LastUsed = _releases;
                RetireRegionLocked(_chunks[i], killing: true);
                _chunks[i].Kill();
            }
        }

        ChunksKilled?.Invoke();

        // Invalidate before any slab can be reused, so no old Memory<byte> can see the next owner's bytes.
        for (int i = 0; i < _slabCount; i++)
        {
            _slabs[i].Lease?.Release();
        }

        // A bump already past its limit check when its chunk was killed stores its state after the retire above read
        // it, and its caller may write the bytes before the leases die. Read each state back only once the leases are
        // dead, and after a full fence (the lease stores must not pass these loads): a write ordered before the leases
        // died was preceded by its bump's store, so that store is seen here and the slab is cleared past those bytes.
        Interlocked.MemoryBarrier();
        for (int i = 0; i < _chunkCount; i++)
        {
            ArenaChunk chunk = _chunks[i];
            if (chunk.KilledSlab >= 0)
            {
                ref SlabUse use = ref _slabs[chunk.KilledSlab];
                use.Used = Math.Max(use.Used, chunk.Offset);
                chunk.KilledSlab = -1;
            }
        }

        TrimChunksLocked(dispose);
        _releases++;

        long carvedBytes = 0;
        for (int i = 0; i < _slabCount; i++)
        {
            if (_slabs[i].Carved)
            {
                carvedBytes += _slabs[i].Used;
            }
        }

        // A cycle that outgrew one slab predicts another: the next one starts with a block of several slabs
        // (pooled like oversize blocks), so it goes through the slow path and the pool once instead of per slab.
        // The prediction shrinks one size class per smaller cycle, so one small cycle does not undo it.
        _firstBlockClass = Math.Max(FirstBlockClass(carvedBytes), _firstBlockClass - 1);

        try
        {
            _pool.Return(_slabs.AsSpan(0, _slabCount), _zero);
        }
        finally
        {
            // Even when the slab provider throws while freeing: the pool has taken every slab by then, and an arena
            // that still listed them would hand them back a second time at its next release, to two owners at once.
            Array.Clear(_slabs, 0, _slabCount);
            _slabCount = 0;
            _currentSlab = -1;
            _cursor = 0;

            // A cycle that allocated on one thread only predicts another: its first chunk takes the whole slab,
            // which saves a trip through the slow path per slab. After a cycle that hopped threads, the first chunk
            // leaves room in its slab for the next thread.
            _grain = threadsUsed <= 1 ? MaxGrain : _initialGrain;
            _otherRequested = 0;
            _held = 0;
        }
    }

    private List<Exception>? RunCleanups(List<Exception>? errors)
    {
        while (Volatile.Read(ref _cleanupCount) != 0)
        {
            IDisposable[]? batch;
            int count;
            using (_gate.EnterScope())
            {
                batch = _cleanups;
                count = _cleanupCount;
                if (count == 0)
                {
                    return errors;
                }

                _cleanups = null;
                _cleanupCount = 0;
            }

            for (int i = count - 1; i >= 0; i--)
            {
                try
                {
                    batch![i].Dispose();
                }
                catch (Exception ex)
                {
                    (errors ??= []).Add(ex);
                }
            }

            // Keep the array for the next cycle unless a cleanup registered new ones meanwhile.
            Array.Clear(batch!, 0, count);
            using (_gate.EnterScope())
            {
                _cleanups ??= batch;
            }
        }

        return errors;
    }

    // The first block for a cycle like the last one. Rounded down to a power of two of slabs, it never holds more
    // than the same use would take in slabs one by one; rounded up, it saves another trip through the slow path for
    // up to a third more memory per cycle. Rounding up is only done while the pool has headroom under its cap: near
    // the cap (many concurrent requests) the bigger blocks crowd out slabs, which are then dropped at return and
    // allocated again. The batch benchmark is what shows the trips saved; the load test at 128 connections what the
    // crowding costs.
    private int FirstBlockClass(long carvedBytes)
    {
        long slabs = (carvedBytes + _slabSize - 1) / _slabSize;
        int down = 0;
        while (down < MaxFirstBlockClass && (2L << down) <= slabs)
        {
            down++;
        }

        int up = down;
        while (up < MaxFirstBlockClass && (1L << up) < slabs)
        {
            up++;
        }

        return up > down && _pool.HasHeadroomFor((long)_slabSize << up) ? up : down;
    }
}
