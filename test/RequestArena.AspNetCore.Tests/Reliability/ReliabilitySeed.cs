namespace RequestArena.AspNetCore.Tests.Reliability;

/// <summary>
/// The seed of a randomized reliability test: <c>RELIABILITY_SEED</c> when set (to replay a failure), otherwise the
/// test's fixed default. Every failure message names the seed.
/// </summary>
internal static class ReliabilitySeed
{
    public const string Variable = "RELIABILITY_SEED";

    public static int Get(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(Variable), out int seed) ? seed : fallback;

    public static string Replay(int seed) => $"seed {seed}; replay with {Variable}={seed}";
}
