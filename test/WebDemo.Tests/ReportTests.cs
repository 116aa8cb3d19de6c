using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace WebDemo.Tests;

public sealed class ReportTests(DemoFactory factory) : IClassFixture<DemoFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Report_NoItems_Returns100Items()
    {
        using HttpResponseMessage response = await _client.GetAsync("/api/report");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(100, doc.RootElement.GetProperty("count").GetInt32());
        Assert.Equal(100, doc.RootElement.GetProperty("items").GetArrayLength());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(200)]
    [InlineData(2000)]
    [InlineData(10000)]
    public async Task Report_AllModes_AreByteIdentical(int items)
    {
        byte[] arena = await _client.GetByteArrayAsync($"/api/report?items={items}&alloc=arena");
        byte[] pool = await _client.GetByteArrayAsync($"/api/report?items={items}&alloc=pool");
        byte[] fresh = await _client.GetByteArrayAsync($"/api/report?items={items}&alloc=new");

        Assert.True(arena.Length > items * 50, $"{arena.Length} bytes for {items} items");
        Assert.Equal(arena, pool);
        Assert.Equal(arena, fresh);
    }

    [Fact]
    public async Task Report_Items_HaveIdNamePriceTags()
    {
        using JsonDocument doc = JsonDocument.Parse(await _client.GetByteArrayAsync("/api/report?items=3&alloc=arena"));

        JsonElement[] items = [.. doc.RootElement.GetProperty("items").EnumerateArray()];
        Assert.Equal([1, 2, 3], items.Select(i => i.GetProperty("id").GetInt32()));
        Assert.All(items, i =>
        {
            Assert.EndsWith(i.GetProperty("id").GetInt32().ToString("D5", System.Globalization.CultureInfo.InvariantCulture), i.GetProperty("name").GetString());
            Assert.True(i.GetProperty("price").GetDecimal() > 0);
            Assert.InRange(i.GetProperty("tags").GetArrayLength(), 1, 3);
        });
    }

    [Fact]
    public async Task Report_ItemsSha256_IsHashOfItemsBlock()
    {
        byte[] body = await _client.GetByteArrayAsync("/api/report?items=500&alloc=arena");

        // The hash covers the exact bytes of the items array as sent.
        string text = Encoding.UTF8.GetString(body);
        int start = text.IndexOf("\"items\":", StringComparison.Ordinal) + "\"items\":".Length;
        int end = text.IndexOf(",\"itemsSha256\":", StringComparison.Ordinal);
        byte[] block = Encoding.UTF8.GetBytes(text[start..end]);
        using JsonDocument doc = JsonDocument.Parse(body);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(block)), doc.RootElement.GetProperty("itemsSha256").GetString());
        Assert.StartsWith("[{", text[start..end]);
    }

    [Theory]
    [InlineData("items=1%30&alloc=pool", 10)]
    [InlineData("alloc=new&items=7", 7)]
    [InlineData("x=1&items=3", 3)]
    [InlineData("alloc=arena", 100)]
    public async Task Report_QueryForms_ReadLikeTheStandardParser(string query, int expected)
    {
        using JsonDocument doc = JsonDocument.Parse(await _client.GetByteArrayAsync($"/api/report?{query}"));

        Assert.Equal(expected, doc.RootElement.GetProperty("items").GetArrayLength());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("10001")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("")]
    public async Task Report_BadItems_Returns400(string items)
    {
        using HttpResponseMessage response = await _client.GetAsync($"/api/report?items={Uri.EscapeDataString(items)}&alloc=arena");

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "items");
    }

    [Theory]
    [InlineData("ARENA")]
    [InlineData("are%6Ea%20")]
    [InlineData("heap")]
    [InlineData("recyclable")]
    [InlineData("1")]
    [InlineData("arena,pool")]
    [InlineData("")]
    public async Task Report_BadAlloc_Returns400(string alloc)
    {
        using HttpResponseMessage response = await _client.GetAsync($"/api/report?items=5&alloc={Uri.EscapeDataString(alloc)}");

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "alloc");
    }

    [Fact]
    public async Task Report_ArenaMode_IsCountedInArenaHistogramAndOtherModesAreNot()
    {
        // A demo of its own: no earlier request can still be on its way into the histogram.
        await using var demo = new DemoFactory();
        using HttpClient client = demo.CreateClient();
        await client.GetByteArrayAsync("/api/report?items=50&alloc=pool");
        await client.GetByteArrayAsync("/api/report?items=50&alloc=new");
        Assert.Equal(0, await ArenaRequestCountAsync(client));

        await client.GetByteArrayAsync("/api/report?items=50&alloc=arena");

        // Counted when the arena is released, which can be after the response arrived.
        await Eventually.WaitUntilAsync(async () => await ArenaRequestCountAsync(client) > 0, "the arena request in the histogram");
        Assert.Equal(1, await ArenaRequestCountAsync(client));
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string mentioned)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Contains(mentioned, problem.RootElement.GetProperty("detail").GetString() + problem.RootElement.GetProperty("title").GetString());
    }

    private static async Task<long> ArenaRequestCountAsync(HttpClient client)
    {
        using JsonDocument stats = JsonDocument.Parse(await client.GetStringAsync("/arena/stats"));
        return stats.RootElement.GetProperty("requests").GetProperty("count").GetInt64();
    }
}
