using System.Text.Json;

namespace RequestArena.LoadTest;

/// <summary>One measured run of one mode: the driver's figures and the server's deltas over the run.</summary>
internal sealed record RunFigures(
    string Scenario, int Connections, string Mode, int Round,
    long Requests, long Errors, double RequestsPerSecond,
    double P50Ms, double P90Ms, double P99Ms, double MaxMs,
    double Gen0Per10k, double Gen1Per10k, double Gen2Per10k,
    double AllocatedBytesPerRequest, double ArenaBytesPerRequest, double WorkingSetMiB, double ServerCpuUsPerRequest)
{
    public static RunFigures From(string scenario, int connections, string mode, int round, DriverResult run, StatsSample before, StatsSample after)
    {
        double n = Math.Max(1, run.Requests);
        return new RunFigures(
            scenario, connections, mode, round, run.Requests, run.Errors, run.RequestsPerSecond,
            run.P50Us / 1000, run.P90Us / 1000, run.P99Us / 1000, run.MaxUs / 1000,
            (after.Gen0 - before.Gen0) * 10_000 / n,
            (after.Gen1 - before.Gen1) * 10_000 / n,
            (after.Gen2 - before.Gen2) * 10_000 / n,
            AllocatedDelta(before, after) / n,
            (after.ArenaBytes - before.ArenaBytes) / n,
            after.WorkingSetBytes / (1024.0 * 1024),
            (after.ServerCpu - before.ServerCpu).TotalMicroseconds / n);
    }

    // GC.GetTotalAllocatedBytes is not monotonic under Server GC's dynamic heap count (DATAS) on .NET 10: it sums
    // only the heaps active at the moment (a .NET 10 runtime bug, dotnet/runtime#131069). A run whose total went
    // down cannot be measured; it is left out of the medians rather than reported as a negative figure.
    private static double AllocatedDelta(StatsSample before, StatsSample after)
    {
        long delta = after.TotalAllocatedBytes - before.TotalAllocatedBytes;
        return delta < 0 ? double.NaN : delta;
    }
}

/// <summary>What a load generator measured in one run; latencies in microseconds.</summary>
internal sealed record DriverResult(long Requests, long Errors, TimeSpan Elapsed, double P50Us, double P90Us, double P99Us, double MaxUs)
{
    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;
}

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
