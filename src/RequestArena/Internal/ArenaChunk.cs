using System.Runtime.InteropServices;

namespace RequestArena;

// The part of an arena one thread bumps into without synchronisation (protobuf's "serial arena"). A chunk belongs to
// one (arena, thread) pair for its whole life and is found only through that thread's ThreadChunkSlot, so only its
// thread ever moves State forward. Other threads, under the arena's gate, only lower Limit (quota revocation) or kill
// the chunk at release, which at worst sends the owner to the slow path.
//
// A release can land between the owner's load and store of State (a handle used while its request ends, a reset that
// races an allocation). The owner's late store then lands on a killed chunk: the arena counts only placed chunks
// (Slab non-null), and placing a chunk again overwrites State, so a late store neither survives into the next cycle
// nor charges it. Kill leaves MemoryOwner and Base in place for the same reason: a racing owner builds its memory from
// the released lease (which throws ObjectDisposedException) instead of from null. Kill leaves State alone too, and
// notes the region's slab in KilledSlab: once the leases are dead the release reads State back, so the bytes a late
// store handed out are cleared with the slab (see Arena.ReleaseLocked).
[StructLayout(LayoutKind.Explicit)]
internal sealed unsafe class ArenaChunk : IThreadChunk
{
    [FieldOffset(0)] public readonly Arena Owner;
    [FieldOffset(8)] private readonly Thread _thread;
    [FieldOffset(16)] public object? MemoryOwner; // what every Memory<byte> points at: the slab's lease, or its pinned array when unchecked
    [FieldOffset(24)] public Slab? Slab;          // null while the chunk holds no region of this cycle
    [FieldOffset(32)] public byte* Base;

    // Offset (low half) and the alignment padding in the current region (high half) in one word: the fast path
    // loads and stores one field instead of two, and a racy reader of both always sees a matching pair. Offset is
    // a multiple of the arena's alignment in address terms.
    [FieldOffset(40)] public long State;
    [FieldOffset(48)] public int Limit;           // fast-path limit: End, or less while a quota rations budget
    [FieldOffset(52)] public int End;             // physical end of the chunk's region in its slab
    [FieldOffset(56)] public int MemoryBase;      // Memory<byte> index of the slab's first byte (see MemoryFactory)
    [FieldOffset(60)] public int RegionStart;     // where the current region began
    [FieldOffset(64)] public long Retired;        // bytes handed out in earlier regions since the last reset
    [FieldOffset(72)] public int SlabIndex;       // the current region's slab in the arena's list
    [FieldOffset(80)] public bool Detached;       // dropped from its arena's list; never placed again
    [FieldOffset(84)] public int KilledSlab;      // the killed region's slab until the release has read State back; else -1
    [FieldOffset(88)] public long LastUsed;       // the arena's release count when the chunk was created or last placed

    // Two threads' chunks allocated one after the other must not share a cache line: each is written on every
    // allocation by its own thread.
    [FieldOffset(120)] private long _padding;

    public ArenaChunk(Arena owner, Thread thread, long releases)
    {
        Owner = owner;
        _thread = thread;
        LastUsed = releases;
        KilledSlab = -1;
        _padding = 0;
    }

    public Thread Thread => _thread;

    public int Offset => (int)Volatile.Read(ref State);

    public int Padding => (int)(Volatile.Read(ref State) >> 32);

    public bool IsPlaced => Volatile.Read(ref Slab) is not null;

    public void SetState(int offset, int padding) => Volatile.Write(ref State, (uint)offset | ((long)padding << 32));

    // Bytes handed out through this chunk since the last reset (earlier regions, plus what the current one consumed
    // minus its alignment padding), and the budget it holds and has not used, both from one reading of State: its owner
    // may be bumping right now, and a bump moves bytes from one figure to the other. Read by other threads for the
    // quota; each part only grows between resets, so a stale read undercounts by at most the allocations in flight. An
    // unplaced chunk counts nothing, whatever a late store left in State.
    public long Usage(out long unused)
    {
        if (!IsPlaced)
        {
            unused = 0;
            return 0;
        }

        long state = Volatile.Read(ref State);
        int offset = (int)state;
        unused = Math.Max(0, Volatile.Read(ref Limit) - offset);
        return Volatile.Read(ref Retired) + offset - Volatile.Read(ref RegionStart) - (int)(state >> 32);
    }

    public void Kill()
    {
        Volatile.Write(ref Limit, 0);
        KilledSlab = SlabIndex;
        Slab = null;
        End = 0;
        Retired = 0;
        RegionStart = 0;
        SlabIndex = 0;
    }
}
