namespace RequestArena.Pipelines;

// Registered for cleanup with a slab allocator's source and disposed when the source's cycle ends (an arena's reset,
// the end of a request): the blocks carved in that cycle hold it and refuse from then on.
internal sealed class BlockRevocation : IDisposable
{
    private volatile bool _revoked;

    public bool IsRevoked => _revoked;

    public void Dispose() => _revoked = true;
}
