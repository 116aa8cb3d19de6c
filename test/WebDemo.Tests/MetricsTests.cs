using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace WebDemo.Tests;

[Collection(TelemetryCollection.Name)]
public sealed partial class MetricsTests(DemoFactory factory) : IClassFixture<DemoFactory>
{
    [Fact]
    public async Task Metrics_AfterArenaRequests_ExposeThePerRequestHistogramWithBuckets()
    {
        using HttpClient client = factory.CreateClient();
        for (int i = 0; i < 3; i++)
        {
            await client.GetByteArrayAsync("/api/report?items=200&alloc=arena");
        }

        // The histogram is recorded when a request's arena is released, and the request duration when the server
        // disposes the request; both can come after its response arrived.
        string text = "";
        await Eventually.WaitUntilAsync(async () =>
        {
            using HttpResponseMessage response = await client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            text = await response.Content.ReadAsStringAsync();
            return CountRegex().IsMatch(text) && text.Contains("http_server_request_duration_seconds_bucket", StringComparison.Ordinal);
        }, "the arena histogram and the request durations in the scrape");

        string[] buckets = [.. BucketRegex().Matches(text).Select(m => m.Value)];
        Assert.True(buckets.Length >= 5, $"{buckets.Length} bucket lines in:\n{text}");
        Assert.Contains(buckets, b => b.Contains("le=\"+Inf\"", StringComparison.Ordinal));
        Assert.Matches(CountRegex(), text);

        // The /api/report requests are in it, by route; and ASP.NET Core's and the runtime's meters are exported too.
        Assert.Contains(buckets, b => b.Contains("/api/report", StringComparison.Ordinal));
        Assert.Contains("http_server_request_duration_seconds_bucket", text);
        Assert.Contains("dotnet_gc_collections", text);
    }

    [Fact]
    public async Task Otlp_EndpointConfigured_PushesTheRequestArenaMeter()
    {
        // A real OTLP/HTTP receiver on 127.0.0.1: it keeps every body posted to /v1/metrics.
        var received = new ConcurrentQueue<byte[]>();
        WebApplicationBuilder receiverBuilder = WebApplication.CreateSlimBuilder();
        receiverBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        await using WebApplication receiver = receiverBuilder.Build();
        receiver.MapPost("/v1/metrics", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.Enqueue(body.ToArray());
            return Results.Ok();
        });
        await receiver.StartAsync();
        string receiverUrl = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        await using var demo = new KestrelDemo(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiverUrl,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        using HttpClient client = demo.CreateHttpClient();
        await client.GetByteArrayAsync("/api/records?count=50&alloc=arena");

        byte[] name = Encoding.UTF8.GetBytes("requestarena.request.allocated");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!received.Any(body => body.AsSpan().IndexOf(name) >= 0))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no OTLP export named the histogram; {received.Count} bodies received");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex("^requestarena_request_allocated(_bytes)?_bucket\\{[^}]*le=\"[^\"]+\"\\} \\d+", RegexOptions.Multiline)]
    private static partial Regex BucketRegex();

    [GeneratedRegex("^requestarena_request_allocated(_bytes)?_count\\{[^}]*\\} [1-9]\\d*", RegexOptions.Multiline)]
    private static partial Regex CountRegex();
}
