namespace RequestArena;

// The part of an arena one thread bumps into without synchronisation (protobuf's "serial arena"). A chunk belongs
// to one (arena, thread) pair for its whole life and is reached through Arena.t_chunk, so only its thread ever
// moves Offset forward. Other threads only ever lower Limit (quota revocation, release), which can at worst make
// the owner take the slow path.
internal sealed unsafe class ArenaChunk
{
    public ArenaChunk(Arena owner, Thread thread)
    {
        Owner = owner;
        Thread = thread;
    }

    public readonly Arena Owner;
    public readonly Thread Thread;

    // Fast-path state: offsets are relative to Base and always multiples of the arena's alignment in address terms.
    public int Offset;
    public int Limit;          // fast-path limit: End, or less while a quota rations budget
    public long Requested;     // bytes handed out through this chunk since the last reset
    public SlabLease? Lease;   // checked memory: every Memory<byte> points here
    public byte[]? Array;      // unchecked managed memory: array-backed Memory<byte>
    public int ArrayBase;
    public byte* Base;

    // Slow-path state.
    public int End;            // physical end of the chunk's region in its slab
    public Slab? Slab;

    public void Kill()
    {
        Limit = 0;
        Offset = 0;
        End = 0;
        Requested = 0;
        Lease = null;
        Array = null;
        Base = null;
        Slab = null;
    }
}
