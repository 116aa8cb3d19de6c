using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace WebDemo.Tests;

[Collection(BrowserCollection.Name)]
public sealed partial class DashboardBrowserTests(ITestOutputHelper output)
{
    private const int WarmUpRequests = 12;
    private const int BurstPerMode = 60;

    [ChromiumFact]
    public async Task Dashboard_InChromium_DrawsChartsAndBurstShowsTheGcDifference()
    {
        await using var demo = new KestrelDemo();
        string baseUrl = demo.BaseAddress.GetLeftPart(UriPartial.Authority);
        using HttpClient client = demo.CreateHttpClient();
        for (int i = 0; i < WarmUpRequests; i++)
        {
            await client.GetByteArrayAsync($"/api/report?items={(i + 1) * 40}&alloc=arena");
        }

        // The other modes warm up too (they leave the arena histogram alone): otherwise the burst's first mode
        // carries the JIT's and the pools' first-use allocations, several KB per request of a 60-request burst.
        foreach (string mode in new[] { "pool", "new" })
        {
            for (int i = 0; i < WarmUpRequests; i++)
            {
                await client.GetByteArrayAsync($"/api/report?items={(i + 1) * 40}&alloc={mode}");
            }
        }

        // Virtual time runs the page's one-second poll several times; it does not advance while requests are pending,
        // so the burst finishes inside the budget however slow the machine is.
        string dom = await HeadlessChromium.RunAsync(
            ["--virtual-time-budget=8000", "--dump-dom"], $"{baseUrl}/arena?burst={BurstPerMode}&items=200", TimeSpan.FromSeconds(60));
        using JsonDocument stats = JsonDocument.Parse(await client.GetStringAsync("/arena/stats"));

        Assert.Matches("<body[^>]*data-state=\"live\"", dom);
        Assert.Matches("<body[^>]*data-burst=\"done\"", dom);
        Assert.True(int.Parse(Attr(dom, "body", "data-polls")) >= 3, "the page polled /arena/stats at least three times");

        // Histogram: every warm-up and arena burst request is in it, drawn as bars, and the figure agrees with the server.
        int drawnCount = int.Parse(Attr(dom, "svg id=\"histogram-chart\"", "data-count"));
        Assert.InRange(drawnCount, WarmUpRequests + BurstPerMode, stats.RootElement.GetProperty("requests").GetProperty("count").GetInt32());
        MatchCollection bars = BarRegex().Matches(Section(dom, "histogram-chart"));
        Assert.True(bars.Count >= 2, $"{bars.Count} bars");
        Assert.Equal(drawnCount, bars.Sum(m => int.Parse(m.Groups["count"].Value)));

        // Pool and GC charts: lines with several samples.
        Assert.True(int.Parse(Attr(dom, "svg id=\"pool-chart\"", "data-points")) >= 2);
        Assert.Contains("data-series=\"slabs in use\"", Section(dom, "pool-chart"));
        Assert.Contains("data-series=\"gen0 per s\"", Section(dom, "gc-chart"));

        // Burst: one row per mode, nothing failed, same temporary bytes, and the arena allocated far less on the heap.
        var rows = BurstRowRegex().Matches(dom).ToDictionary(m => m.Groups["mode"].Value, m => m.Value);
        Assert.Equal(["arena", "pool", "new"], rows.Keys);
        Assert.All(rows.Values, row => Assert.Equal("0", Attr(row, "tr", "data-failed")));
        long arenaScratch = long.Parse(Attr(rows["arena"], "tr", "data-scratch-per-request"));
        Assert.InRange(arenaScratch, 15_000, 20_000);
        Assert.Equal(arenaScratch, long.Parse(Attr(rows["new"], "tr", "data-scratch-per-request")));
        long arenaHeap = long.Parse(Attr(rows["arena"], "tr", "data-allocated-per-request"));
        long newHeap = long.Parse(Attr(rows["new"], "tr", "data-allocated-per-request"));
        output.WriteLine($"heap bytes/request in the burst: arena {arenaHeap}, new {newHeap}");
        // Half, not all, of the scratch bytes: the burst's first mode (arena) also pays for the browser's six new
        // connections (Kestrel's pinned blocks count as allocated bytes), about 3 KB per request of a 60-request burst.
        Assert.True(newHeap - arenaHeap > arenaScratch / 2, $"arena {arenaHeap} B/request, new {newHeap} B/request");

        // A screenshot for people (and CI artifacts): it must be a real PNG of a drawn page.
        string png = Path.Combine(AppContext.BaseDirectory, "dashboard.png");
        File.Delete(png);
        await HeadlessChromium.RunAsync(["--virtual-time-budget=4000", $"--screenshot={png}"], $"{baseUrl}/arena", TimeSpan.FromSeconds(60));
        byte[] image = await File.ReadAllBytesAsync(png);
        Assert.True(image.Length > 20_000, $"screenshot is {image.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, image[..4]);
        output.WriteLine($"screenshot: {png}");
    }

    private static string Attr(string html, string elementStart, string attribute)
    {
        Match m = Regex.Match(html, "<" + elementStart + "[^>]*?\\s" + Regex.Escape(attribute) + "=\"(?<v>[^\"]*)\"");
        Assert.True(m.Success, $"no {attribute} on <{elementStart}");
        return m.Groups["v"].Value;
    }

    private static string Section(string html, string svgId)
    {
        int start = html.IndexOf($"<svg id=\"{svgId}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no svg {svgId}");
        int end = html.IndexOf("</svg>", start, StringComparison.Ordinal);
        return html[start..end];
    }

    [GeneratedRegex("<rect class=\"bar\"[^>]*data-count=\"(?<count>\\d+)\"")]
    private static partial Regex BarRegex();

    [GeneratedRegex("<tr data-mode=\"(?<mode>\\w+)\"[^>]*>")]
    private static partial Regex BurstRowRegex();
}
