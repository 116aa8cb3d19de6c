using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RequestArena;

// The part of an arena one thread bumps into without synchronisation (protobuf's "serial arena"). A chunk belongs
// to one (arena, thread) pair for its whole life, so only its thread ever moves Offset forward. Other threads only
// ever lower Limit (quota revocation, release), which at worst sends the owner to the slow path.
//
// The owner is recognised by its stack range (see ThreadStack), so the fast path needs no thread-local lookup.
// Other threads read StackLow/StackSize of a hot chunk that is not theirs on every allocation, while the owner
// writes Offset and Requested: the explicit layout keeps those on different cache lines so that two threads
// allocating on one arena do not bounce a line between cores.
[StructLayout(LayoutKind.Explicit)]
internal sealed unsafe class ArenaChunk
{
    // Read-mostly: identity, written once.
    [FieldOffset(0)] public readonly Arena Owner;
    [FieldOffset(8)] public readonly Thread Thread;
    [FieldOffset(16)] public readonly nuint StackLow;
    [FieldOffset(24)] public readonly nuint StackSize;
    [FieldOffset(32)] public bool Detached;       // dropped from its arena's list; never used again

    // Owner-written: the bump state, one cache line further on.
    [FieldOffset(128)] public object? MemoryOwner; // what every Memory<byte> points at: the slab's lease, or its pinned array when unchecked
    [FieldOffset(144)] public Slab? Slab;
    [FieldOffset(152)] public byte* Base;

    // Offset (low half) and the alignment padding in the current region (high half) in one word: the fast path
    // loads and stores one field instead of two, and a racy reader of both always sees a matching pair. Offset is
    // a multiple of the arena's alignment in address terms.
    [FieldOffset(160)] public long State;
    [FieldOffset(168)] public int Limit;          // fast-path limit: End, or less while a quota rations budget
    [FieldOffset(172)] public int End;            // physical end of the chunk's region in its slab
    [FieldOffset(176)] public int MemoryBase;     // Memory<byte> index of the slab's first byte (see MemoryFactory)
    [FieldOffset(180)] public int RegionStart;    // where the current region began
    [FieldOffset(184)] public long Retired;       // bytes handed out in earlier regions since the last reset
    [FieldOffset(192)] public int SlabIndex;      // the current region's slab in the arena's list
    [FieldOffset(200)] private long _padding;     // keeps the next object off this line

    // Fills empty hot slots: no stack address lies in its empty range, so the fast path falls through to the slow
    // path without a null test. It is never bumped.
    public static readonly ArenaChunk Nobody = new(null!, null!, 0, 0);

    public ArenaChunk(Arena owner, Thread thread, nuint stackLow, nuint stackSize)
    {
        Owner = owner;
        Thread = thread;
        StackLow = stackLow;
        StackSize = stackSize;
        _padding = 0;
    }

    public int Offset => (int)Volatile.Read(ref State);

    public int Padding => (int)(Volatile.Read(ref State) >> 32);

    public void SetState(int offset, int padding) => Volatile.Write(ref State, (uint)offset | ((long)padding << 32));

    // True only on the chunk's own thread: no other live thread's locals lie in its stack range.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsOnOwnerStack(nuint stackAddress) => stackAddress - StackLow < StackSize;

    // Bytes handed out through this chunk since the last reset: earlier regions, plus what the current one consumed
    // minus its alignment padding.
    // Read racily by other threads for the quota; each field only grows between resets, so a stale read undercounts
    // by at most the allocations in flight.
    public long HandedOut
    {
        get
        {
            long state = Volatile.Read(ref State);
            return Volatile.Read(ref Retired) + (int)state - Volatile.Read(ref RegionStart) - (int)(state >> 32);
        }
    }

    public void Kill()
    {
        Limit = 0;
        State = 0;
        End = 0;
        Retired = 0;
        RegionStart = 0;
        SlabIndex = 0;
        MemoryOwner = null;
        Base = null;
        Slab = null;
    }
}
