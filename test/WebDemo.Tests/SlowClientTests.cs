using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace WebDemo.Tests;

/// <summary>
/// Clients that send request headers and then stall, and floods of the thread demo, against a real Kestrel server.
/// Not run beside other tests: it reads process-wide allocation figures.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SlowClientTests
{
    private const int DeclaredLength = 1024 * 1024;

    [Fact]
    public async Task Transform_StalledClients_HoldNoBodyBufferAndOthersAreServed()
    {
        await using var demo = new KestrelDemo();
        using HttpClient client = demo.CreateHttpClient();
        using var active = new MetricCollector<long>(
            demo.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Microsoft.AspNetCore.Hosting", "http.server.active_requests");

        // Warm every mode up, so what follows measures the stalled requests, not first-use costs.
        foreach (string mode in Modes)
        {
            using HttpResponseMessage warm = await client.PostAsync($"/api/transform?alloc={mode}", new ByteArrayContent(new byte[5000]));
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        JsonElement before = await PoolAsync(client);
        long allocatedBefore = await AllocatedBytesAsync(client);

        // Four header-only clients per mode, each declaring 1 MiB, and two arena clients that send 100 bytes first.
        var stalled = new List<Socket>();
        try
        {
            foreach (string mode in Modes)
            {
                for (int i = 0; i < 4; i++)
                {
                    stalled.Add(await SendHeadersAsync(demo.BaseAddress, mode, extraBytes: 0));
                }
            }

            stalled.Add(await SendHeadersAsync(demo.BaseAddress, "arena", extraBytes: 100));
            stalled.Add(await SendHeadersAsync(demo.BaseAddress, "arena", extraBytes: 100));

            // Every stalled request is inside its handler (the stats request itself is one more).
            await Eventually.WaitUntilAsync(() => ActiveRequests(active) >= stalled.Count, "the stalled requests to reach their handlers");
            JsonElement two = await WaitForPoolAsync(client, p => p.GetProperty("slabsInUse").GetInt64() >= before.GetProperty("slabsInUse").GetInt64() + 2);

            // While they wait, the server serves everyone else.
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/report?items=200&alloc=arena")).StatusCode);
            using HttpResponseMessage transformed = await client.PostAsync("/api/transform?alloc=pool", new ByteArrayContent(new byte[64 * 1024]));
            Assert.Equal(HttpStatusCode.OK, transformed.StatusCode);

            // The two that sent bytes hold one slab each for them; the header-only ones hold nothing; nobody holds a
            // block sized by what it declared.
            JsonElement during = await PoolAsync(client);
            Assert.Equal(before.GetProperty("slabsInUse").GetInt64() + 2, during.GetProperty("slabsInUse").GetInt64());
            Assert.Equal(before.GetProperty("oversizeInUse").GetInt64(), during.GetProperty("oversizeInUse").GetInt64());
            Assert.Equal(before.GetProperty("oversizeRented").GetInt64(), during.GetProperty("oversizeRented").GetInt64());

            // The pool, new and recyclable clients allocated no 1 MiB buffer either: 12 of them would be 12 MiB at
            // least (ArrayPool rounds 1 MiB + 65 up to 2 MiB).
            long allocated = await AllocatedBytesAsync(client) - allocatedBefore;
            Assert.True(allocated < 4 * DeclaredLength, $"{allocated} bytes allocated while {stalled.Count} clients stalled");
            Assert.Equal(two.GetProperty("slabsInUse").GetInt64(), during.GetProperty("slabsInUse").GetInt64());
        }
        finally
        {
            foreach (Socket socket in stalled)
            {
                socket.Dispose();
            }
        }

        // Closing the connections ends the requests and gives their slabs back.
        await WaitForPoolAsync(client, p => p.GetProperty("slabsInUse").GetInt64() == before.GetProperty("slabsInUse").GetInt64());
    }

    [Fact]
    public async Task Rpc_Flood_NeverRunsMoreThreadsThanTheBound()
    {
        await using var demo = new KestrelDemo(new() { ["Demo:RpcMaxThreads"] = "2" });
        using HttpClient client = demo.CreateHttpClient();
        RpcDemoThreads threads = demo.Services.GetRequiredService<RpcDemoThreads>();

        HttpResponseMessage[] responses = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => client.GetAsync("/api/adapters/rpc")));

        Assert.InRange(threads.Peak, 1, 2);
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        foreach (HttpResponseMessage busy in responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable))
        {
            await ReportTests.AssertProblemAsync(busy, HttpStatusCode.ServiceUnavailable, "at once");
        }

        foreach (HttpResponseMessage response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Rpc_EverySlotTaken_Returns503WithRetryAfterThenRecovers()
    {
        await using var demo = new KestrelDemo(new() { ["Demo:RpcMaxThreads"] = "2" });
        using HttpClient client = demo.CreateHttpClient();
        RpcDemoThreads threads = demo.Services.GetRequiredService<RpcDemoThreads>();
        Assert.True(threads.TryEnter());
        Assert.True(threads.TryEnter());

        using (HttpResponseMessage busy = await client.GetAsync("/api/adapters/rpc"))
        {
            await ReportTests.AssertProblemAsync(busy, HttpStatusCode.ServiceUnavailable, "Demo:RpcMaxThreads");
            Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
        }

        Assert.Equal(0, threads.Peak);
        threads.Exit();
        threads.Exit();
        using HttpResponseMessage ok = await client.GetAsync("/api/adapters/rpc");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(1, threads.Peak);
    }

    private static readonly string[] Modes = ["arena", "pool", "new", "recyclable"];

    private static async Task<Socket> SendHeadersAsync(Uri server, string mode, int extraBytes)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.Port);
        string head = $"POST /api/transform?alloc={mode} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {DeclaredLength}\r\n\r\n";
        byte[] bytes = [.. Encoding.ASCII.GetBytes(head), .. Enumerable.Repeat((byte)'x', extraBytes)];
        await socket.SendAsync(bytes);
        return socket;
    }

    private static long ActiveRequests(MetricCollector<long> active) => active.GetMeasurementSnapshot().Sum(m => m.Value);

    private static async Task<JsonElement> PoolAsync(HttpClient client)
    {
        using JsonDocument stats = JsonDocument.Parse(await client.GetStringAsync("/arena/stats"));
        return stats.RootElement.GetProperty("pool").Clone();
    }

    private static async Task<long> AllocatedBytesAsync(HttpClient client)
    {
        using JsonDocument stats = JsonDocument.Parse(await client.GetStringAsync("/arena/stats"));
        return stats.RootElement.GetProperty("totalAllocatedBytes").GetInt64();
    }

    private static async Task<JsonElement> WaitForPoolAsync(HttpClient client, Func<JsonElement, bool> condition)
    {
        JsonElement pool = default;
        await Eventually.WaitUntilAsync(async () => condition(pool = await PoolAsync(client)), "the pool figures");
        return pool;
    }
}
