using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;

namespace RequestArena.LoadTest.Soak;

/// <summary>
/// Issues one soak request of a given kind and judges the answer. HttpClient for everything a well-behaved client does;
/// a raw socket for aborts, so the reset lands exactly where it should (after the server started streaming, or while
/// it waits for the rest of the body). Loopback only.
/// </summary>
internal sealed class SoakClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly HttpClient _stats;
    private readonly Uri _baseAddress;
    private readonly SoakSettings _settings;
    private readonly TimeSpan _timeout;

    public SoakClient(Uri baseAddress, SoakSettings settings, int concurrency, TimeSpan timeout)
    {
        if (!IPAddress.IsLoopback(IPAddress.Parse(baseAddress.Host)))
        {
            throw new ArgumentException($"The soak only runs against loopback; {baseAddress} is not.", nameof(baseAddress));
        }

        _baseAddress = baseAddress;
        _settings = settings;
        _timeout = timeout;
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            BaseAddress = baseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };

        // Its own connection, so reading figures never queues behind the load.
        _stats = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task<SoakServerReport> GetReportAsync(bool collect) =>
        (await _stats.GetFromJsonAsync<SoakServerReport>($"{SoakApp.StatsPath}?gc={(collect ? "true" : "false")}"))!;

    /// <summary>Runs request <paramref name="id"/>; null when it behaved as its kind must, else what went wrong.</summary>
    public async Task<string?> RunAsync(SoakKind kind, long id)
    {
        using var cts = new CancellationTokenSource(_timeout);
        try
        {
            return kind switch
            {
                SoakKind.Normal => await NormalAsync(id, cts.Token),
                SoakKind.Upload => await UploadAsync(id, cts.Token),
                SoakKind.AbortWhileStreaming => await AbortWhileStreamingAsync(id, cts.Token),
                SoakKind.AbortWhileReading => await AbortWhileReadingAsync(id, cts.Token),
                SoakKind.HandlerException => await HandlerExceptionAsync(id, cts.Token),
                SoakKind.Timeout => await StatusOnlyAsync($"/soak/timeout/{id}", HttpStatusCode.GatewayTimeout, cts.Token),
                SoakKind.QuotaBreach => await StatusOnlyAsync($"/soak/quota/{id}", HttpStatusCode.ServiceUnavailable, cts.Token),
                SoakKind.SlowStream => await SlowStreamAsync(id, cts.Token),
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
            };
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return $"{kind} {id}: no answer within {_timeout.TotalSeconds:0} s";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
        {
            return $"{kind} {id}: {ex.GetType().Name}: {ex.Message}";
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _stats.Dispose();
    }

    private async Task<string?> NormalAsync(long id, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.GetAsync($"/soak/normal/{id}", cancellationToken);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return Expect(SoakKind.Normal, id, response.StatusCode, HttpStatusCode.OK)
            ?? ExpectBody(SoakKind.Normal, id, body, SoakPayload.ResponseLength(id));
    }

    private async Task<string?> UploadAsync(long id, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(SoakPayload.UploadBody(id));
        using HttpResponseMessage response = await _http.PostAsync($"/soak/upload/{id}", content, cancellationToken);
        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        string expected = SoakPayload.UploadLength(id).ToString(CultureInfo.InvariantCulture);
        return Expect(SoakKind.Upload, id, response.StatusCode, HttpStatusCode.OK)
            ?? (text == expected ? null : $"Upload {id}: server read '{text}' bytes, sent {expected}");
    }

    private async Task<string?> SlowStreamAsync(long id, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.GetAsync(
            $"/soak/stream/{id}?chunks={_settings.SlowChunks}&delayMs={_settings.SlowChunkDelayMs}", cancellationToken);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return Expect(SoakKind.SlowStream, id, response.StatusCode, HttpStatusCode.OK)
            ?? ExpectBody(SoakKind.SlowStream, id, body, _settings.SlowChunks * _settings.ChunkSize);
    }

    private async Task<string?> HandlerExceptionAsync(long id, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.GetAsync($"/soak/throw/{id}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (id % 2 == 0)
        {
            return Expect(SoakKind.HandlerException, id, response.StatusCode, HttpStatusCode.InternalServerError);
        }

        // The fault came after the response started: the only honest signal left is a reset before the body ends.
        try
        {
            byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            return $"HandlerException {id}: response completed ({(int)response.StatusCode}, {body.Length} bytes) although the handler failed after starting it";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return null;
        }
    }

    private async Task<string?> StatusOnlyAsync(string path, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.GetAsync(path, cancellationToken);
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return response.StatusCode == expected ? null : $"GET {path}: {(int)response.StatusCode}, expected {(int)expected}";
    }

    private async Task<string?> AbortWhileStreamingAsync(long id, CancellationToken cancellationToken)
    {
        using Socket socket = await ConnectAsync(cancellationToken);
        await SendAsync(socket, $"GET /soak/stream/{id}?chunks={_settings.AbortStreamChunks}&delayMs=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", cancellationToken);

        // The status line and at least one byte of body: the handler is streaming from its arena.
        string? problem = await ReadHeadAndSomeBodyAsync(socket, "AbortWhileStreaming", id, cancellationToken);
        Reset(socket);
        return problem;
    }

    private async Task<string?> AbortWhileReadingAsync(long id, CancellationToken cancellationToken)
    {
        using Socket socket = await ConnectAsync(cancellationToken);
        await SendAsync(socket, $"POST /soak/upload/{id}?early=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {_settings.AbortUploadLength}\r\n\r\n", cancellationToken);

        // The early byte means the handler has allocated its buffer and is about to read the body.
        string? problem = await ReadHeadAndSomeBodyAsync(socket, "AbortWhileReading", id, cancellationToken);
        if (problem is null)
        {
            byte[] part = new byte[_settings.AbortUploadLength / 4];
            part.AsSpan().Fill(SoakPayload.Pattern(id));
            await socket.SendAsync(part, SocketFlags.None, cancellationToken);
        }

        Reset(socket);
        return problem;
    }

    private static async Task<string?> ReadHeadAndSomeBodyAsync(Socket socket, string what, long id, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[16 * 1024];
        int received = 0;
        int headEnd = -1;
        while (headEnd < 0 || received <= headEnd)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                return $"{what} {id}: the server closed the connection before sending a body";
            }

            received += n;
            if (headEnd < 0)
            {
                int end = buffer.AsSpan(0, received).IndexOf("\r\n\r\n"u8);
                headEnd = end < 0 ? -1 : end + 4;
                if (headEnd < 0 && received == buffer.Length)
                {
                    return $"{what} {id}: response head larger than {buffer.Length} bytes";
                }
            }

            if (received == buffer.Length)
            {
                break;
            }
        }

        string statusLine = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, received).IndexOf("\r\n"u8));
        return statusLine.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) ? null : $"{what} {id}: '{statusLine}' before the abort";
    }

    private async Task<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, _baseAddress.Port, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task SendAsync(Socket socket, string text, CancellationToken cancellationToken) =>
        await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, cancellationToken);

    // Linger 0 makes close send RST: the client is gone mid-response, not finished. It also leaves no TIME_WAIT
    // behind, so a million aborts do not exhaust the loopback's ephemeral ports.
    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    private static string? Expect(SoakKind kind, long id, HttpStatusCode actual, HttpStatusCode expected) =>
        actual == expected ? null : $"{kind} {id}: {(int)actual}, expected {(int)expected}";

    private static string? ExpectBody(SoakKind kind, long id, byte[] body, int length)
    {
        if (body.Length != length)
        {
            return $"{kind} {id}: {body.Length} body bytes, expected {length}";
        }

        int foreign = body.AsSpan().IndexOfAnyExcept(SoakPayload.Pattern(id));
        return foreign < 0 ? null : $"{kind} {id}: body byte {foreign} is 0x{body[foreign]:x2}, not this request's 0x{SoakPayload.Pattern(id):x2}";
    }
}
