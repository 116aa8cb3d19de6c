namespace RequestArena.Tests;

public class SpinGateTests
{
    private SpinGate _gate;
    private long _counter;

    [Fact]
    public void EnterScope_FourThreadsContending_NoIncrementIsLost()
    {
        const int PerThread = 200_000;
        var threads = new Thread[4];
        for (int t = 0; t < threads.Length; t++)
        {
            threads[t] = new Thread(() =>
            {
                for (int i = 0; i < PerThread; i++)
                {
                    using (_gate.EnterScope())
                    {
                        // A read-modify-write that loses updates unless the gate excludes the other threads.
                        long value = _counter;
                        _counter = value + 1;
                    }
                }
            });
            threads[t].Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.Equal(threads.Length * PerThread, _counter);
    }

    [Fact]
    public void EnterScope_ExceptionInside_ReleasesTheGate()
    {
        Assert.Throws<InvalidOperationException>(ThrowInside);

        // Would spin forever if the throw had left the gate held; another thread proves it is free.
        bool entered = false;
        var other = new Thread(() =>
        {
            using (_gate.EnterScope())
            {
                entered = true;
            }
        });
        other.Start();
        Assert.True(other.Join(TimeSpan.FromSeconds(10)));
        Assert.True(entered);
    }

    private void ThrowInside()
    {
        using (_gate.EnterScope())
        {
            throw new InvalidOperationException();
        }
    }
}
