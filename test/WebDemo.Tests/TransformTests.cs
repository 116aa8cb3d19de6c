using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace WebDemo.Tests;

public sealed class TransformTests(DemoFactory factory) : IClassFixture<DemoFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    [Theory]
    [InlineData("arena")]
    [InlineData("pool")]
    [InlineData("new")]
    [InlineData("recyclable")]
    public async Task Transform_EachMode_UppercasesAsciiAndAppendsSha256(string alloc)
    {
        byte[] input = Encoding.UTF8.GetBytes("hello, wörld {az} AZ `{ 123 ñ\n");

        byte[] output = await PostAsync(alloc, new ByteArrayContent(input));

        Assert.Equal(Expected(input), output);
        Assert.StartsWith("HELLO, WöRLD {AZ} AZ `{ 123 ñ\n", Encoding.UTF8.GetString(output));
    }

    [Theory]
    [InlineData(4 * 1024)]
    [InlineData(256 * 1024)]
    public async Task Transform_AllModes_AreIdentical(int size)
    {
        byte[] input = new byte[size];
        new Random(size).NextBytes(input);

        byte[] arena = await PostAsync("arena", new ByteArrayContent(input));
        byte[] pool = await PostAsync("pool", new ByteArrayContent(input));
        byte[] fresh = await PostAsync("new", new ByteArrayContent(input));
        byte[] recyclable = await PostAsync("recyclable", new ByteArrayContent(input));

        Assert.Equal(Expected(input), arena);
        Assert.Equal(arena, pool);
        Assert.Equal(arena, fresh);
        Assert.Equal(arena, recyclable);
    }

    [Theory]
    [InlineData("arena")]
    [InlineData("recyclable")]
    public async Task Transform_BodyWithoutLength_IsReadToTheEnd(string alloc)
    {
        byte[] input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("chunked body ", 20000)));

        byte[] output = await PostAsync(alloc, new UnknownLengthContent(input));

        Assert.Equal(Expected(input), output);
    }

    [Fact]
    public async Task Transform_EmptyBody_ReturnsHashOfNothing()
    {
        byte[] output = await PostAsync("arena", new ByteArrayContent([]));

        Assert.Equal("\n" + Convert.ToHexStringLower(SHA256.HashData([])), Encoding.ASCII.GetString(output));
    }

    [Fact]
    public async Task Transform_DeclaredLengthOverLimit_Returns413()
    {
        using HttpResponseMessage response = await _client.PostAsync("/api/transform?alloc=arena", new ByteArrayContent(new byte[DemoFactory.TransformLimit + 1]));

        await ReportTests.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, DemoFactory.TransformLimit.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("arena")]
    [InlineData("pool")]
    [InlineData("new")]
    [InlineData("recyclable")]
    public async Task Transform_UndeclaredLengthOverLimit_Returns413(string alloc)
    {
        using HttpResponseMessage response = await _client.PostAsync($"/api/transform?alloc={alloc}", new UnknownLengthContent(new byte[DemoFactory.TransformLimit + 10]));

        await ReportTests.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "at most");
    }

    [Fact]
    public async Task Transform_BodyAtLimit_IsAccepted()
    {
        byte[] input = new byte[DemoFactory.TransformLimit];
        input.AsSpan().Fill((byte)'q');

        byte[] output = await PostAsync("new", new ByteArrayContent(input));

        Assert.Equal(Expected(input), output);
    }

    [Fact]
    public async Task Transform_BadAlloc_Returns400()
    {
        using HttpResponseMessage response = await _client.PostAsync("/api/transform?alloc=stack", new ByteArrayContent([1, 2, 3]));

        await ReportTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "alloc");
    }

    [Fact]
    public async Task Transform_Get_Returns405()
    {
        using HttpResponseMessage response = await _client.GetAsync("/api/transform");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    private static byte[] Expected(byte[] input)
    {
        byte[] upper = input.Select(b => b is >= (byte)'a' and <= (byte)'z' ? (byte)(b - 32) : b).ToArray();
        return [.. upper, (byte)'\n', .. Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(upper)))];
    }

    // Kestrel refuses a malformed chunked body while the endpoint reads it; the client's error stays a 4xx.
    [Theory]
    [InlineData("arena", "ZZ\r\nhello\r\n0\r\n\r\n")]
    [InlineData("pool", "5\r\nhelloXX\r\n0\r\n\r\n")]
    public async Task Transform_MalformedChunkedBody_Returns400(string alloc, string chunks)
    {
        await using var demo = new KestrelDemo();
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, demo.BaseAddress.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"POST /api/transform?alloc={alloc} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunks}"));

        var received = new MemoryStream();
        byte[] buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read;
        while ((read = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        string response = Encoding.ASCII.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 400 ", response);
        Assert.Contains("application/problem+json", response);
    }

    // The demo's limit goes up to 256 MiB, past the server's default cap of 30,000,000 bytes.
    [Fact]
    public async Task Transform_BodyOverTheServersDefaultCapWithinTheDemoLimit_IsTransformed()
    {
        await using var demo = new KestrelDemo(new() { ["Demo:TransformMaxBodyBytes"] = (32 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using HttpClient client = demo.CreateHttpClient();
        byte[] body = new byte[30_000_100];
        body.AsSpan().Fill((byte)'a');

        using HttpResponseMessage response = await client.PostAsync("/api/transform?alloc=arena", new ByteArrayContent(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        byte[] output = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(body.Length + 65, output.Length);
        Assert.True(output.AsSpan(0, body.Length).IndexOfAnyExcept((byte)'A') < 0);
    }

    // The server counts a chunked body's framing (chunk sizes, line ends) against its cap, so the endpoint's limit is
    // enforced on the body's own bytes: exactly the limit in chunks passes, one byte more gets the endpoint's 413.
    [Theory]
    [InlineData(4096, HttpStatusCode.OK)]
    [InlineData(4097, HttpStatusCode.RequestEntityTooLarge)]
    public async Task Transform_ChunkedBodyAroundTheLimit_JudgedOnItsBytesNotItsFraming(int length, HttpStatusCode expected)
    {
        await using var demo = new KestrelDemo(new() { ["Demo:TransformMaxBodyBytes"] = "4096" });
        using HttpClient client = demo.CreateHttpClient();
        byte[] body = new byte[length];
        body.AsSpan().Fill((byte)'a');

        using HttpResponseMessage response = await client.PostAsync("/api/transform?alloc=arena", new UnknownLengthContent(body));

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(length + 65, (await response.Content.ReadAsByteArrayAsync()).Length);
        }
        else
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    private async Task<byte[]> PostAsync(string alloc, HttpContent content)
    {
        using (content)
        using (HttpResponseMessage response = await _client.PostAsync($"/api/transform?alloc={alloc}", content))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadAsByteArrayAsync();
        }
    }

    // No Content-Length: the endpoint must read until the body ends rather than trust a declared size.
    private sealed class UnknownLengthContent(byte[] data) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (int at = 0; at < data.Length; at += 1000)
            {
                await stream.WriteAsync(data.AsMemory(at, Math.Min(1000, data.Length - at)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
