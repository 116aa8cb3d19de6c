using System.Buffers;

namespace RequestArena.Adapters;

// The part of an RPC environment one thread bumps into without synchronisation, like the arena's own chunks: it
// belongs to one (environment, thread) pair and is reached through RpcScopeEnvironment.t_chunk, so only its thread
// moves Offset. Release sets Limit to 0 under the environment's lock, which at worst sends the owner to the slow path.
internal sealed unsafe class RpcChunk(RpcScopeEnvironment owner, int ownerId, Thread thread)
{
    public readonly RpcScopeEnvironment Owner = owner;
    public readonly int OwnerId = ownerId;
    public readonly Thread Thread = thread;

    // The flow (execution context) whose ambient environment was last found to be Owner on this thread. Contexts are
    // immutable, so while the current one is this object the ambient lookup can be skipped.
    public ExecutionContext? FlowContext;

    public Memory<byte> Block;
    public byte* Base;       // Block's first byte, 8-byte aligned
    public int Offset;
    public int Limit;
    public MemoryHandle Pin; // only for memory not known to be pinned

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
