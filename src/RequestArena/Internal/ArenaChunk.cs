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
    [FieldOffset(128)] public SlabLease? Lease;   // checked memory: every Memory<byte> points here
    [FieldOffset(136)] public byte[]? Array;      // unchecked managed memory: array-backed Memory<byte>
    [FieldOffset(144)] public Slab? Slab;
    [FieldOffset(152)] public byte* Base;
    [FieldOffset(160)] public long Padding;       // alignment padding in the bytes consumed since the last reset
    [FieldOffset(168)] public int Offset;         // multiple of the arena's alignment in address terms
    [FieldOffset(172)] public int Limit;          // fast-path limit: End, or less while a quota rations budget
    [FieldOffset(176)] public int End;            // physical end of the chunk's region in its slab
    [FieldOffset(180)] public int ArrayBase;
    [FieldOffset(184)] public long Retired;       // bytes consumed in earlier regions since the last reset
    [FieldOffset(192)] public int RegionStart;    // where the current region began
    [FieldOffset(196)] public int SlabIndex;      // the current region's slab in the arena's list
    [FieldOffset(200)] private long _padding;     // keeps the next object off this line

    public ArenaChunk(Arena owner, Thread thread, nuint stackLow, nuint stackSize)
    {
        Owner = owner;
        Thread = thread;
        StackLow = stackLow;
        StackSize = stackSize;
        _padding = 0;
    }

    // True only on the chunk's own thread: no other live thread's locals lie in its stack range.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsOnOwnerStack(nuint stackAddress) => stackAddress - StackLow < StackSize;

    // Bytes handed out through this chunk since the last reset: everything consumed minus alignment padding.
    // Read racily by other threads for the quota; each field only grows between resets, so a stale read undercounts
    // by at most the allocations in flight.
    public long HandedOut => Volatile.Read(ref Retired) + Volatile.Read(ref Offset) - Volatile.Read(ref RegionStart) - Volatile.Read(ref Padding);

    public void Kill()
    {
        Limit = 0;
        Offset = 0;
        End = 0;
        Padding = 0;
        Retired = 0;
        RegionStart = 0;
        SlabIndex = 0;
        Lease = null;
        Array = null;
        Base = null;
        Slab = null;
    }
}
