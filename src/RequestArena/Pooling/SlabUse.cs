namespace RequestArena;

// A slab or block as an arena holds it and gives it back: the lease its checked memory points at, whether regions were
// carved from it, and how far into it bytes were handed out (all the pool clears at return).
internal struct SlabUse(Slab slab, SlabLease? lease, bool carved)
{
    public readonly Slab Slab = slab;
    public readonly SlabLease? Lease = lease;
    public readonly bool Carved = carved;   // chunks were carved from it (not a block for one large allocation)
    public int Used;
}
