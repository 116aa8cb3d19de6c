namespace RequestArena.Tests;

// Tests use their own pools so counters are not shared with other tests running in parallel.
internal static class TestPools
{
    public static SlabPool Create(int slabSize = 64 * 1024, long maxRetained = 32L * 1024 * 1024, ISlabProvider? provider = null) =>
        new(new SlabPoolOptions { SlabSize = slabSize, MaxRetainedBytes = maxRetained, Provider = provider, TrimInterval = Timeout.InfiniteTimeSpan });

    public static unsafe nint AddressOf(Memory<byte> memory)
    {
        using var handle = memory.Pin();
        return (nint)handle.Pointer;
    }
}
