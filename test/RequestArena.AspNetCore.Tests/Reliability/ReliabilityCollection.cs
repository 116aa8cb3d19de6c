namespace RequestArena.AspNetCore.Tests.Reliability;

/// <summary>
/// The end-to-end reliability tests run one at a time, after the rest: they saturate both cores for seconds, and the
/// soak compares the process's working set at two points, which other tests running alongside would disturb.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityCollection
{
    public const string Name = "Reliability";
}
