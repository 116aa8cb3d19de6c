namespace RequestArena;

// What an adapter that holds memory outside the arena (native blocks) needs to count that memory against the arena's
// quota: an Arena answers for itself, a request's handle for the arena behind it.
internal interface IQuotaSource
{
    // The quota in bytes; 0 means unlimited.
    long MaxBytes { get; }

    // Bytes handed out from the arena so far.
    long AllocatedBytes { get; }

    // Counts memory held outside the arena's slabs against the quota's bound on memory held (Arena.HeldBytes); false,
    // and nothing counted, when it would pass the bound.
    bool TryChargeHeld(long bytes);

    // Gives back what TryChargeHeld counted, within the cycle that counted it: the one caller (the NDIS adapter) frees
    // its native blocks in a cleanup of that cycle. A request's handle ignores it once its request has ended; an Arena
    // would take it off the cycle it is in.
    void ReleaseHeld(long bytes);
}
