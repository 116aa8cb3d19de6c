using System.Buffers;
using Pipelines.Sockets.Unofficial.Arenas;

namespace RequestArena.Pipelines;

// Blocks for element types that hold references, which slab memory cannot carry. Each block is a new array that no
// other arena ever sees: the peer's default (ArrayPool) would hand a pooled array to the next request while a Sequence
// kept past this one still reads it.
internal sealed class FreshArrayAllocator<T> : Allocator<T>
{
    public static FreshArrayAllocator<T> Instance { get; } = new();

    public override IMemoryOwner<T> Allocate(int length) => new Block(new T[length]);

    private sealed class Block(T[] array) : IMemoryOwner<T>
    {
        public Memory<T> Memory { get; } = array;

        // Nothing to return: the array is dropped for the GC once the arena lets go of it.
        public void Dispose()
        {
        }
    }
}
