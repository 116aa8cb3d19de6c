namespace RequestArena.Tests.Adapters;

/// <summary>
/// Seeds of the adapters' model-based tests: 1..count, or only <c>ADAPTER_MODEL_SEED</c> when set (to replay a
/// failure, whose message names its seed and step).
/// </summary>
internal static class AdapterModelSeeds
{
    public const string Variable = "ADAPTER_MODEL_SEED";

    public static TheoryData<int> Get(int count)
    {
        var data = new TheoryData<int>();
        if (int.TryParse(Environment.GetEnvironmentVariable(Variable), out int only))
        {
            data.Add(only);
            return data;
        }

        for (int seed = 1; seed <= count; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    public static string Replay(int seed, string step) => $"seed {seed} failed at {step}; replay with {Variable}={seed}";
}
