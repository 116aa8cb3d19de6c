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

    // Gives back what TryChargeHeld counted. A no-op once the cycle that counted it has ended.
    void ReleaseHeld(long bytes);
}
