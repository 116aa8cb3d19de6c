namespace RequestArena;

// Registered for cleanup with an allocator and disposed when the allocator's cycle ends (an arena's reset, the end of a
// request): objects that keep blocks of that cycle hold it and refuse from then on, whether or not the memory itself
// can fail (DetectUseAfterRelease off).
internal sealed class CycleRevocation : IDisposable
{
    private volatile bool _revoked;

    public bool IsRevoked => _revoked;

    public void Dispose() => _revoked = true;

    // The revocation of the allocator's current cycle: `current` while it is live, else a new one registered with the
    // allocator (and stored in `current`). Null for an allocator that cannot say when its cycle ends.
    public static CycleRevocation? ForCurrentCycle(IModuleAllocator allocator, ref CycleRevocation? current)
    {
        if (allocator is not ICleanupRegistry registry)
        {
            return null;
        }

        CycleRevocation? revocation = current;
        if (revocation is null || revocation.IsRevoked)
        {
            revocation = new CycleRevocation();
            registry.RegisterForCleanup(revocation);
            current = revocation;
        }

        return revocation;
    }
}
