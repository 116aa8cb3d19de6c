namespace RequestArena.Tests;

// Tests use their own pools so counters are not shared with other tests running in parallel.
internal static class TestPools
{
    public static SlabPool Create(int slabSize = 64 * 1024, long maxRetained = 32L * 1024 * 1024, ISlabProvider? provider = null) =>
        new(new SlabPoolOptions { SlabSize = slabSize, MaxRetainedBytes = maxRetained, Provider = provider, TrimInterval = Timeout.InfiniteTimeSpan });

    // Waits (at most 10 s) for the pool's trim timer to give every idle block back; the statistics then.
    public static SlabPoolStatistics WaitUntilNothingIsPooled(SlabPool pool)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (pool.GetStatistics().PooledSlabs > 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        return pool.GetStatistics();
    }

    public static unsafe nint AddressOf(Memory<byte> memory)
    {
        using var handle = memory.Pin();
        return (nint)handle.Pointer;
    }
}
