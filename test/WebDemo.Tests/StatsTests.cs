using System.Text.Json;

namespace WebDemo.Tests;

public sealed class StatsTests(DemoFactory factory) : IClassFixture<DemoFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Stats_GcFigures_UseTheIssueNames()
    {
        using JsonDocument first = await GetStatsAsync();
        await _client.GetByteArrayAsync("/api/report?items=2000&alloc=new");
        using JsonDocument second = await GetStatsAsync();

        foreach (string name in new[] { "gen0Collections", "gen1Collections", "gen2Collections", "totalAllocatedBytes", "workingSetBytes" })
        {
            Assert.True(second.RootElement.GetProperty(name).GetInt64() >= 0, name);
        }

        Assert.True(second.RootElement.GetProperty("workingSetBytes").GetInt64() > 1024 * 1024);

        // A 150 KB report built from fresh arrays must show up in the process's allocation counter.
        long allocated = second.RootElement.GetProperty("totalAllocatedBytes").GetInt64() - first.RootElement.GetProperty("totalAllocatedBytes").GetInt64();
        Assert.True(allocated > 100_000, $"allocated {allocated} bytes");
    }

    [Fact]
    public async Task Stats_Pool_ReportsSlabFigures()
    {
        await _client.GetByteArrayAsync("/api/report?items=1000&alloc=arena");
        using JsonDocument stats = await GetStatsAsync();

        JsonElement pool = stats.RootElement.GetProperty("pool");
        Assert.Equal(64 * 1024, pool.GetProperty("slabSize").GetInt32());
        Assert.True(pool.GetProperty("slabsRented").GetInt64() >= 1);
        Assert.True(pool.GetProperty("slabsRented").GetInt64() >= pool.GetProperty("slabsReturned").GetInt64());
        // Pooled blocks are one slab or a size class of several (reports past a slab take 64 KiB writer blocks).
        long pooledBytes = pool.GetProperty("pooledBytes").GetInt64();
        Assert.Equal(0, pooledBytes % (64 * 1024));
        Assert.True(pooledBytes >= pool.GetProperty("pooledSlabs").GetInt64() * 64 * 1024, $"{pooledBytes} pooled bytes");
        Assert.True(pool.GetProperty("maxRetainedBytes").GetInt64() > 0);
    }

    [Fact]
    public async Task Stats_Histogram_SummarisesArenaBytesPerRequest()
    {
        for (int i = 0; i < 5; i++)
        {
            await _client.GetByteArrayAsync("/api/report?items=200&alloc=arena");
        }

        // Each request is counted when its arena is released, which can be after the client has the response.
        JsonDocument? stats = null;
        await Eventually.WaitUntilAsync(async () =>
        {
            stats?.Dispose();
            stats = await GetStatsAsync();
            return stats.RootElement.GetProperty("requests").GetProperty("count").GetInt64() >= 5;
        }, "five arena requests in the histogram");
        using JsonDocument counted = stats!;
        JsonElement requests = counted.RootElement.GetProperty("requests");
        long count = requests.GetProperty("count").GetInt64();
        Assert.Equal(count, requests.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()));

        // items=200 needs about 16 KB of scratch; every figure must be in that range and ordered.
        long min = requests.GetProperty("minBytes").GetInt64(), max = requests.GetProperty("maxBytes").GetInt64();
        long p50 = requests.GetProperty("p50Bytes").GetInt64(), p99 = requests.GetProperty("p99Bytes").GetInt64();
        Assert.InRange(p50, min, max);
        Assert.InRange(p99, p50, max);
        Assert.InRange(max, 10_000, 64 * 1024 * 1024);
        Assert.True(requests.GetProperty("totalBytes").GetInt64() >= 5 * 10_000);
    }

    [Fact]
    public async Task Stats_Modes_CountRequestsAndScratchBytes()
    {
        using JsonDocument before = await GetStatsAsync();
        await _client.GetByteArrayAsync("/api/report?items=100&alloc=pool");
        using JsonDocument after = await GetStatsAsync();

        JsonElement b = before.RootElement.GetProperty("modes").GetProperty("pool"), a = after.RootElement.GetProperty("modes").GetProperty("pool");
        Assert.Equal(b.GetProperty("requests").GetInt64() + 1, a.GetProperty("requests").GetInt64());
        Assert.InRange(a.GetProperty("scratchBytes").GetInt64() - b.GetProperty("scratchBytes").GetInt64(), 7_000, 64 * 1024);
    }

    private async Task<JsonDocument> GetStatsAsync()
    {
        using HttpResponseMessage response = await _client.GetAsync("/arena/stats");
        response.EnsureSuccessStatusCode();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
