using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace WebDemo.Tests;

public sealed class RecordsTests(DemoFactory factory) : IClassFixture<DemoFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Theory]
    [InlineData(1)]
    [InlineData(500)]
    [InlineData(10_000)]
    public async Task Records_AllModes_ReturnTheSameAnswer(int count)
    {
        string arena = await _client.GetStringAsync($"/api/records?count={count}&alloc=arena");
        string pool = await _client.GetStringAsync($"/api/records?count={count}&alloc=pool");
        string fresh = await _client.GetStringAsync($"/api/records?count={count}&alloc=new");

        Assert.Equal(arena, pool);
        Assert.Equal(arena, fresh);
        using JsonDocument doc = JsonDocument.Parse(arena);
        Assert.Equal(count, doc.RootElement.GetProperty("count").GetInt32());
        Assert.Equal(count * RecordsEndpoint.FieldsPerRecord, doc.RootElement.GetProperty("allocations").GetInt32());
        Assert.Matches("^[0-9a-f]{16}$", doc.RootElement.GetProperty("checksum").GetString());
    }

    [Fact]
    public async Task Records_Default_Makes2000AllocationsOfSmallBuffers()
    {
        using JsonDocument doc = JsonDocument.Parse(await _client.GetStringAsync("/api/records"));

        Assert.Equal(RecordsEndpoint.DefaultCount, doc.RootElement.GetProperty("count").GetInt32());
        Assert.Equal(2000, doc.RootElement.GetProperty("allocations").GetInt32());
        Assert.InRange(doc.RootElement.GetProperty("bytes").GetInt64() / 2000.0, 3, 16);
    }

    [Fact]
    public async Task Records_DifferentCounts_DifferentChecksums()
    {
        using JsonDocument a = JsonDocument.Parse(await _client.GetStringAsync("/api/records?count=11&alloc=arena"));
        using JsonDocument b = JsonDocument.Parse(await _client.GetStringAsync("/api/records?count=12&alloc=arena"));

        Assert.NotEqual(a.RootElement.GetProperty("checksum").GetString(), b.RootElement.GetProperty("checksum").GetString());
    }

    [Fact]
    public void Checksum_OneChangedByteInAnyField_ChangesIt()
    {
        var fields = new Memory<byte>[RecordsEndpoint.FieldsPerRecord * 3];
        RecordsEndpoint.ParseAll(HeapAllocator.Instance, fields);

        ulong original = RecordsEndpoint.Checksum(fields);
        foreach (Memory<byte> field in fields)
        {
            for (int i = 0; i < field.Length; i++)
            {
                field.Span[i] ^= 1;
                Assert.NotEqual(original, RecordsEndpoint.Checksum(fields));
                field.Span[i] ^= 1;
            }
        }

        Assert.Equal(original, RecordsEndpoint.Checksum(fields));
    }

    [Fact]
    public async Task Records_ArenaMode_AllocatesFromTheRequestArenaAndOthersDoNot()
    {
        // A demo of its own: no earlier request can still be on its way into the figures.
        await using var demo = new DemoFactory();
        using HttpClient client = demo.CreateClient();
        await client.GetStringAsync("/api/records?count=500&alloc=pool");
        await client.GetStringAsync("/api/records?count=500&alloc=new");
        Assert.Equal(0, await ArenaBytesAsync(client));

        await client.GetStringAsync("/api/records?count=500&alloc=arena");

        // Counted when the arena is released, which can be after the response arrived.
        long afterArena = 0;
        await Eventually.WaitUntilAsync(async () => (afterArena = await ArenaBytesAsync(client)) > 0, "the arena request's bytes");
        Assert.InRange(afterArena, 2000 * 3, 2000 * 24);
    }

    [Fact]
    public async Task Records_PoolMode_EveryArrayIsReturnedWhenTheRequestEnds()
    {
        var created = new System.Collections.Concurrent.ConcurrentBag<ArrayPoolAllocator>();
        using WebApplicationFactory<Program> tracked = factory.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.AddScoped(_ =>
            {
                var pool = new ArrayPoolAllocator();
                created.Add(pool);
                return pool;
            })));
        using HttpClient client = tracked.CreateClient();

        using JsonDocument doc = JsonDocument.Parse(await client.GetStringAsync("/api/records?count=500&alloc=pool"));

        Assert.Equal(2000, doc.RootElement.GetProperty("allocations").GetInt32());
        ArrayPoolAllocator used = Assert.Single(created);

        // The scope is disposed once the response has completed, which may be just after the client has the body.
        await Eventually.WaitUntilAsync(() => used.RentedCount == 0, "the request's scope to return the pooled arrays");
        Assert.Throws<ObjectDisposedException>(() => used.AllocateMemory(1));
    }

    [Theory]
    [InlineData("count=0")]
    [InlineData("count=10001")]
    [InlineData("count=-5")]
    [InlineData("count=1e3")]
    [InlineData("count=")]
    [InlineData("count=5&count=6")]
    [InlineData("count=99999999999999999999")]
    public async Task Records_BadCount_Returns400(string query)
    {
        using HttpResponseMessage response = await _client.GetAsync($"/api/records?{query}&alloc=arena");

        await ReportTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "count");
    }

    [Theory]
    [InlineData("recyclable")]
    [InlineData("Pool")]
    [InlineData("1")]
    [InlineData("arena,pool")]
    public async Task Records_BadAlloc_Returns400(string alloc)
    {
        using HttpResponseMessage response = await _client.GetAsync($"/api/records?count=5&alloc={Uri.EscapeDataString(alloc)}");

        await ReportTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "alloc");
    }

    private static async Task<long> ArenaBytesAsync(HttpClient client)
    {
        using JsonDocument stats = JsonDocument.Parse(await client.GetStringAsync("/arena/stats"));
        return stats.RootElement.GetProperty("requests").GetProperty("totalBytes").GetInt64();
    }
}
