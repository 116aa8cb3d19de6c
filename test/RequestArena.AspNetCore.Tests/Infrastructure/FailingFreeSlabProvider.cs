namespace RequestArena.AspNetCore.Tests;

// Pinned-array slabs whose Free frees the block and then throws: a slab provider failing at release.
internal sealed class FailingFreeSlabProvider : ISlabProvider
{
    private int _freeCalls;

    public string Name => "failing-free";

    public int FreeCalls => Volatile.Read(ref _freeCalls);

    public SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block) =>
        PinnedArraySlabProvider.Instance.Allocate(length, alignment, out block);

    public void Free(in SlabBlock block)
    {
        Interlocked.Increment(ref _freeCalls);
        PinnedArraySlabProvider.Instance.Free(block);
        throw new IOException("free failed");
    }
}
