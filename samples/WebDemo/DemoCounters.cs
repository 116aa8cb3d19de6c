namespace WebDemo;

/// <summary>Requests served and temporary bytes asked for, per <see cref="AllocMode"/>; shown on the dashboard.</summary>
internal sealed class DemoCounters
{
    private readonly long[] _requests = new long[AllocModes.All.Length];
    private readonly long[] _scratchBytes = new long[AllocModes.All.Length];

    public void Record(AllocMode mode, long scratchBytes)
    {
        Interlocked.Increment(ref _requests[(int)mode]);
        Interlocked.Add(ref _scratchBytes[(int)mode], scratchBytes);
    }

    public long Requests(AllocMode mode) => Interlocked.Read(ref _requests[(int)mode]);

    public long ScratchBytes(AllocMode mode) => Interlocked.Read(ref _scratchBytes[(int)mode]);
}
