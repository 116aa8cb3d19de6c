namespace RequestArena.LoadTest.Soak;

/// <summary>Counters the soak endpoints keep; read through <c>/soak/stats</c> into a <see cref="SoakServerReport"/>.</summary>
internal sealed class SoakServerState
{
    private long _inFlight;
    private long _arenaRequests;
    private long _dirtyAllocations;
    private long _prematureReleases;
    private long _corruptBodies;
    private long _normalDone;
    private long _uploadDone;
    private long _streamDone;
    private long _streamAborted;
    private long _uploadAborted;
    private long _thrown;
    private long _timedOut;
    private long _timeoutMissed;
    private long _quotaHit;

    public void Enter() => Interlocked.Increment(ref _inFlight);

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Called once per request, just before its first allocation: the number of releases to expect.</summary>
    public void ArenaUsed() => Interlocked.Increment(ref _arenaRequests);

    public void CheckZero(ReadOnlySpan<byte> fresh)
    {
        if (fresh.IndexOfAnyExcept((byte)0) >= 0)
        {
            Interlocked.Increment(ref _dirtyAllocations);
        }
    }

    /// <summary>Memory the request still owns must still hold what the request wrote into it.</summary>
    public void CheckOwn(ReadOnlySpan<byte> own, byte pattern)
    {
        if (own.IndexOfAnyExcept(pattern) >= 0)
        {
            Interlocked.Increment(ref _corruptBodies);
        }
    }

    public void PrematureRelease() => Interlocked.Increment(ref _prematureReleases);

    public void NormalDone() => Interlocked.Increment(ref _normalDone);

    public void UploadDone() => Interlocked.Increment(ref _uploadDone);

    public void StreamDone() => Interlocked.Increment(ref _streamDone);

    public void StreamAborted() => Interlocked.Increment(ref _streamAborted);

    public void UploadAborted() => Interlocked.Increment(ref _uploadAborted);

    public void Thrown() => Interlocked.Increment(ref _thrown);

    public void TimedOut() => Interlocked.Increment(ref _timedOut);

    public void TimeoutMissed() => Interlocked.Increment(ref _timeoutMissed);

    public void QuotaHit() => Interlocked.Increment(ref _quotaHit);

    public SoakServerCounters Read() => new()
    {
        InFlight = Volatile.Read(ref _inFlight),
        ArenaRequests = Volatile.Read(ref _arenaRequests),
        DirtyAllocations = Volatile.Read(ref _dirtyAllocations),
        PrematureReleases = Volatile.Read(ref _prematureReleases),
        CorruptBodies = Volatile.Read(ref _corruptBodies),
        NormalDone = Volatile.Read(ref _normalDone),
        UploadDone = Volatile.Read(ref _uploadDone),
        StreamDone = Volatile.Read(ref _streamDone),
        StreamAborted = Volatile.Read(ref _streamAborted),
        UploadAborted = Volatile.Read(ref _uploadAborted),
        Thrown = Volatile.Read(ref _thrown),
        TimedOut = Volatile.Read(ref _timedOut),
        TimeoutMissed = Volatile.Read(ref _timeoutMissed),
        QuotaHit = Volatile.Read(ref _quotaHit),
    };
}
