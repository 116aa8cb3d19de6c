using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace WebDemo.Tests;

public sealed class AdapterTests(DemoFactory factory) : IClassFixture<DemoFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Bidi_StringsAndBlob_RoundTripAndDoubleFreeIsRefused()
    {
        const string text = "Grüße aus der Arena";
        using JsonDocument doc = JsonDocument.Parse(await _client.GetStringAsync($"/api/adapters/bidi?text={Uri.EscapeDataString(text)}"));
        JsonElement root = doc.RootElement;

        Assert.Equal(text, root.GetProperty("utf16").GetProperty("readBack").GetString());
        Assert.Equal((text.Length + 1) * 2, root.GetProperty("utf16").GetProperty("bytes").GetInt32());
        Assert.Equal(text, root.GetProperty("utf8").GetProperty("readBack").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))), root.GetProperty("blob").GetProperty("hex").GetString());
        Assert.Equal(3, root.GetProperty("liveBlocksBeforeFree").GetInt32());
        Assert.True(root.GetProperty("freed").GetBoolean());
        Assert.False(root.GetProperty("freedTwice").GetBoolean());
        Assert.NotEqual(0, root.GetProperty("lastErrorCode").GetInt32());
        Assert.Equal(3, root.GetProperty("liveBlocks").GetInt32());
    }

    [Fact]
    public async Task Rpc_ScopeReachesTaskRunAndHandedOverThread()
    {
        using HttpResponseMessage response = await _client.GetAsync("/api/adapters/rpc");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var byPlace = doc.RootElement.GetProperty("allocations").EnumerateArray()
            .ToDictionary(a => a.GetProperty("where").GetString()!, a => (Status: a.GetProperty("status").GetString(), Bytes: a.GetProperty("bytes").GetInt32()));
        Assert.Equal(("Ok", 256), byPlace["request"]);
        Assert.Equal(("Ok", 256), byPlace["Task.Run"]);
        Assert.Equal(("Ok", 256), byPlace["new Thread after SetThreadHandle"]);
        Assert.NotEqual("Ok", byPlace["new Thread without handle"].Status);
        Assert.Equal(0, byPlace["new Thread without handle"].Bytes);
        Assert.Equal("RTN", doc.RootElement.GetProperty("firstBytes").GetString());
    }

    [Fact]
    public async Task Ndis_EveryFlagCombination_SucceedsAndNonCachedIsCacheLineAligned()
    {
        using JsonDocument doc = JsonDocument.Parse(await _client.GetStringAsync("/api/adapters/ndis"));

        var rows = doc.RootElement.GetProperty("allocations").EnumerateArray().ToDictionary(a => a.GetProperty("flags").GetString()!);
        Assert.Equal(["none", "contiguous", "nonCached", "contiguous|nonCached", "inBlocks"], rows.Keys);
        Assert.All(rows.Values, r => Assert.Equal("Success", r.GetProperty("status").GetString()));
        Assert.True(rows["nonCached"].GetProperty("cacheLineAligned").GetBoolean());
        Assert.True(rows["contiguous|nonCached"].GetProperty("cacheLineAligned").GetBoolean());
        Assert.Equal(64 * 1024, rows["contiguous"].GetProperty("bytes").GetInt32());
        Assert.Equal(200 * 1024, rows["inBlocks"].GetProperty("bytes").GetInt32());
        Assert.True(rows["inBlocks"].GetProperty("blocks").GetInt32() >= 1);
    }

    [Fact]
    public async Task SharedSlab_ArenaBytes_AreReadableThroughTheNamedMapping()
    {
        const string text = "shared slab 42";
        using JsonDocument doc = JsonDocument.Parse(await _client.GetStringAsync($"/api/adapters/shared-slab?text={Uri.EscapeDataString(text)}"));

        Assert.True(doc.RootElement.GetProperty("located").GetBoolean());
        Assert.StartsWith("webdemo", doc.RootElement.GetProperty("blockName").GetString());
        Assert.Equal(text, doc.RootElement.GetProperty("readThroughMapping").GetString());
    }
}
