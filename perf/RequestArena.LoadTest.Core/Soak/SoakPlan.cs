namespace RequestArena.LoadTest.Soak;

/// <summary>
/// The kind of every request of a run, fixed by the seed: in each block of 20 consecutive requests exactly one of each
/// fault kind (an abort while streaming or while reading, a handler exception, a timeout, a quota breach, a slow
/// stream) and 15 normal ones (4 of them uploads), in a seeded random order.
/// </summary>
internal sealed class SoakPlan
{
    private const int BlockSize = 20;
    private readonly SoakKind[] _kinds;

    public SoakPlan(int seed, long requests)
    {
        if (requests < 1 || requests > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(requests), requests, "A soak plan holds 1 to Array.MaxLength requests.");
        }

        Seed = seed;
        _kinds = new SoakKind[requests];
        var random = new Random(seed);
        var block = new SoakKind[BlockSize];
        for (long start = 0; start < requests; start += BlockSize)
        {
            int i = 0;
            block[i++] = random.Next(2) == 0 ? SoakKind.AbortWhileStreaming : SoakKind.AbortWhileReading;
            block[i++] = SoakKind.HandlerException;
            block[i++] = SoakKind.Timeout;
            block[i++] = SoakKind.QuotaBreach;
            block[i++] = SoakKind.SlowStream;
            for (int u = 0; u < 4; u++)
            {
                block[i++] = SoakKind.Upload;
            }

            while (i < BlockSize)
            {
                block[i++] = SoakKind.Normal;
            }

            random.Shuffle(block);
            int take = (int)Math.Min(BlockSize, requests - start);
            block.AsSpan(0, take).CopyTo(_kinds.AsSpan((int)start));
        }
    }

    public int Seed { get; }

    public long Count => _kinds.LongLength;

    public SoakKind this[long index] => _kinds[index];

    public long CountOf(SoakKind kind, long from, long to)
    {
        long count = 0;
        for (long i = from; i < to; i++)
        {
            if (_kinds[i] == kind)
            {
                count++;
            }
        }

        return count;
    }
}
