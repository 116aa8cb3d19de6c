namespace RequestArena.LoadTest.Soak;

/// <summary>How much load the soak puts on the server, and when it gives up.</summary>
internal sealed record SoakRunOptions
{
    public long Requests { get; init; } = 200_000;

    public int Concurrency { get; init; } = 32;

    public int Seed { get; init; } = 20261122;

    /// <summary>Where the first working-set sample is taken: 50k of the default 200k.</summary>
    public double SampleFraction { get; init; } = 0.25;

    /// <summary>The run stops issuing requests after this long, whatever the count; a run cut short fails.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromMinutes(9);

    /// <summary>A single request (including an abort's handshake) that takes longer than this fails the run.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long quiescing may take: in-flight handlers finishing, OnCompleted callbacks releasing arenas.</summary>
    public TimeSpan QuiesceTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Allowed relative change of the working set between the sample and the end.</summary>
    public double WorkingSetTolerance { get; init; } = 0.10;

    /// <summary>How often the pool is sampled while load runs.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}
