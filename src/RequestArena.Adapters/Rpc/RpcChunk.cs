using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RequestArena.Adapters;

// The part of an RPC environment one thread bumps into without synchronisation, like the arena's own chunks: it
// belongs to one (environment, thread) pair and is found only through that thread's ThreadChunkSlot, so only its
// thread moves Offset. Release sets Limit to 0 under the environment's lock, which at worst sends the owner to the
// slow path; Busy lets the release wait for an owner caught between its check and its header write (see
// RpcScopeEnvironment.Dispose).
[StructLayout(LayoutKind.Explicit)]
internal sealed unsafe class RpcChunk : IThreadChunk
{
    [FieldOffset(0)] public readonly RpcScopeEnvironment Owner;
    [FieldOffset(8)] private readonly Thread _thread;
    [FieldOffset(16)] public Memory<byte> Block;

    // The flow (execution context) whose ambient environment was last found to be Owner on this thread. Contexts are
    // immutable, so while the current one is this object the ambient lookup can be skipped.
    [FieldOffset(32)] public ExecutionContext? FlowContext;
    [FieldOffset(40)] public byte* Base;                 // Block's first byte, 8-byte aligned
    [FieldOffset(48)] public int Offset;
    [FieldOffset(52)] public int Limit;
    [FieldOffset(56)] public int OwnerId;
    [FieldOffset(60)] public int Busy;                   // 1 while the owner is between its Limit check and its last write
    [FieldOffset(64)] public MemoryHandle Pin;           // only for memory not known to be pinned
    [FieldOffset(88)] public ulong[]? Starts;            // Block's block starts, a bit per 8 bytes (see RpcScopeEnvironment.Free)

    // Two threads' chunks allocated one after the other must not share a cache line.
    [FieldOffset(120)] private long _padding;

    public RpcChunk(RpcScopeEnvironment owner, int ownerId, Thread thread)
    {
        Owner = owner;
        OwnerId = ownerId;
        _thread = thread;
        _padding = 0;
    }

    public Thread Thread => _thread;

    public void Kill()
    {
        Volatile.Write(ref Limit, 0);
        Offset = 0;
        FlowContext = null;
    }

    // What Kill leaves for the owner's benefit (a racing owner must not find a null Base): dropped once the release
    // knows the owner is not between its check and its writes.
    public void Clear()
    {
        Base = null;
        Block = default;
        Pin.Dispose();
        Pin = default;
    }
}
