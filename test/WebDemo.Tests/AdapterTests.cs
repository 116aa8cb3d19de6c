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
}
