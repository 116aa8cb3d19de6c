namespace RequestArena.Tests;

public class ThreadStackTests
{
    [Fact]
    public unsafe void Current_ContainsALocalOfTheCallingThread()
    {
        (nuint low, nuint size) = ThreadStack.Current();
        byte local = 0;

        Assert.True(size > 0, "this platform should report the stack range");
        Assert.True((nuint)(&local) - low < size);
    }

    [Fact]
    public unsafe void Current_RangesOfLiveThreadsDoNotOverlap()
    {
        var ranges = new (nuint Low, nuint Size, nuint Local)[4];
        using var allStarted = new Barrier(4);
        var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
        {
            byte local = 0;
            (nuint low, nuint size) = ThreadStack.Current();
            ranges[i] = (low, size, (nuint)(&local));
            allStarted.SignalAndWait();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int i = 0; i < ranges.Length; i++)
        {
            for (int j = 0; j < ranges.Length; j++)
            {
                bool inside = ranges[j].Local - ranges[i].Low < ranges[i].Size;
                Assert.Equal(i == j, inside);
            }
        }
    }
}
