namespace RequestArena.LoadTest.Soak;

/// <summary>Per kind: requests issued, and those that did not behave as their kind must.</summary>
internal sealed class SoakKindTally
{
    private long _issued;
    private long _unexpected;

    public long Issued => Volatile.Read(ref _issued);

    public long Unexpected => Volatile.Read(ref _unexpected);

    public void Record(bool expected)
    {
        Interlocked.Increment(ref _issued);
        if (!expected)
        {
            Interlocked.Increment(ref _unexpected);
        }
    }
}
