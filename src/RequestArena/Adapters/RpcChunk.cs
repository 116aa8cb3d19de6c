using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RequestArena.Adapters;

// The part of an RPC environment one thread bumps into without synchronisation, like the arena's own chunks: it
// belongs to one (environment, thread) pair, so only its thread moves Offset. Release sets Limit to 0 under the
// environment's lock, which at worst sends the owner to the slow path.
//
// The owner is recognised by its stack range (see ThreadStack): the stacks of live threads never overlap, so "the
// address of a local lies in StackLow..StackLow+StackSize" holds on the owner and on no other live thread, and the
// ambient fast path needs no thread-local lookup to find it. Other threads read the identity of a chunk that is not
// theirs while the owner writes Offset: the explicit layout keeps those on different cache lines, as ArenaChunk does.
[StructLayout(LayoutKind.Explicit)]
internal sealed unsafe class RpcChunk
{
    // Read-mostly: identity, written once.
    [FieldOffset(0)] public readonly RpcScopeEnvironment Owner;
    [FieldOffset(8)] public readonly Thread Thread;
    [FieldOffset(16)] public readonly nuint StackLow;
    [FieldOffset(24)] public readonly nuint StackSize;   // 0 where the platform does not report stack ranges
    [FieldOffset(32)] public readonly int OwnerId;

    // Owner-written: the bump state, one cache line further on.
    [FieldOffset(128)] public Memory<byte> Block;

    // The flow (execution context) whose ambient environment was last found to be Owner on this thread. Contexts are
    // immutable, so while the current one is this object the ambient lookup can be skipped.
    [FieldOffset(144)] public ExecutionContext? FlowContext;
    [FieldOffset(152)] public byte* Base;                // Block's first byte, 8-byte aligned
    [FieldOffset(160)] public int Offset;
    [FieldOffset(164)] public int Limit;
    [FieldOffset(168)] public MemoryHandle Pin;          // only for memory not known to be pinned
    [FieldOffset(192)] private long _padding;            // keeps the next object off this line

    // Fills empty slots of the ambient lookup: its empty stack range matches no thread, so the fast path needs no
    // null test. It is never bumped.
    public static readonly RpcChunk Nobody = new(null!, 0, null!, 0, 0);

    public RpcChunk(RpcScopeEnvironment owner, int ownerId, Thread thread, nuint stackLow, nuint stackSize)
    {
        Owner = owner;
        OwnerId = ownerId;
        Thread = thread;
        StackLow = stackLow;
        StackSize = stackSize;
        _padding = 0;
    }

    // True only on the chunk's own thread (or, once it has exited, a thread reusing its stack, which then is the
    // only one bumping the chunk): no other live thread's locals lie in its stack range.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsOnOwnerStack(nuint stackAddress) => stackAddress - StackLow < StackSize;

    public void Kill()
    {
        Limit = 0;
        Offset = 0;
        Base = null;
        Block = default;
        FlowContext = null;
        Pin.Dispose();
        Pin = default;
    }
}
