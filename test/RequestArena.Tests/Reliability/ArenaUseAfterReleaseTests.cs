namespace RequestArena.Tests.Reliability;

public class ArenaUseAfterReleaseTests
{
    private static readonly List<Memory<byte>> s_leaked = [];

    [Fact]
    public async Task LeakedMemory_ThousandConcurrentTrials_ThrowsAfterRelease()
    {
        using var slabs = TestPools.Create(slabSize: 4096);
        var arenas = new ArenaPool(slabs);
        int disposedSeen = 0;

        async Task Trial(int trial)
        {
            Arena arena = arenas.Rent();
            Memory<byte> memory = arena.AllocateMemory(64);
            memory.Span.Fill((byte)(trial % 250 + 1));
            lock (s_leaked)
            {
                s_leaked.Add(memory);
            }

            var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task background = Task.Run(async () =>
            {
                await released.Task;

                // The request is over; its memory may already serve another trial.
                try
                {
                    _ = memory.Span[0];
                    Assert.Fail("leaked memory was readable after its arena was released");
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref disposedSeen);
                }
            });

            await Task.Yield();
            arenas.Return(arena);
            released.SetResult();
            await background;
        }

        await Task.WhenAll(Enumerable.Range(0, 1000).Select(Trial));

        Assert.Equal(1000, disposedSeen);
        lock (s_leaked)
        {
            Assert.All(s_leaked, m => Assert.Throws<ObjectDisposedException>(() => m.Pin()));
            s_leaked.Clear();
        }
    }
}
