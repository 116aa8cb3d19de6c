using System.Text.Json;

namespace RequestArena.LoadTest;

/// <summary>The figures of one <c>/arena/stats</c> read that the load test takes deltas of.</summary>
internal readonly record struct StatsSample(
    long Gen0, long Gen1, long Gen2, long TotalAllocatedBytes, long WorkingSetBytes, long ArenaRequests, long ArenaBytes, bool ServerGc, TimeSpan ServerCpu)
{
    public static StatsSample From(JsonElement root, TimeSpan serverCpu)
    {
        JsonElement requests = root.GetProperty("requests");
        return new StatsSample(
            root.GetProperty("gen0Collections").GetInt64(),
            root.GetProperty("gen1Collections").GetInt64(),
            root.GetProperty("gen2Collections").GetInt64(),
            root.GetProperty("totalAllocatedBytes").GetInt64(),
            root.GetProperty("workingSetBytes").GetInt64(),
            requests.GetProperty("count").GetInt64(),
            requests.GetProperty("totalBytes").GetInt64(),
            root.TryGetProperty("serverGC", out JsonElement server) && server.GetBoolean(),
            serverCpu);
    }
}
