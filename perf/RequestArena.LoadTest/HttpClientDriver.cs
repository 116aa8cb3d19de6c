using System.Diagnostics;
using System.Net;

namespace RequestArena.LoadTest;

/// <summary>
/// The built-in driver: one HttpClient over SocketsHttpHandler, <c>connections</c> workers each with its own
/// keep-alive connection, stopping at the duration or the request cap.
/// </summary>
internal sealed class HttpClientDriver : ILoadDriver
{
    public string Name => "builtin";

    public async Task<DriverResult> RunAsync(Uri url, string method, byte[] body, int connections, TimeSpan duration, long maxRequests)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        var httpMethod = new HttpMethod(method);
        long issued = 0;
        long errors = 0;
        var latencies = new List<long>[connections];
        Stopwatch clock = Stopwatch.StartNew();
        long deadline = (long)(duration.TotalSeconds * Stopwatch.Frequency);

        async Task Worker(int index)
        {
            var mine = latencies[index] = new List<long>(4096);
            while (clock.ElapsedTicks < deadline && Interlocked.Increment(ref issued) <= maxRequests)
            {
                long started = Stopwatch.GetTimestamp();
                try
                {
                    using var request = new HttpRequestMessage(httpMethod, url);
                    if (body.Length > 0)
                    {
                        request.Content = new ByteArrayContent(body);
                    }

                    using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    await response.Content.CopyToAsync(Stream.Null);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
                catch (TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }

                mine.Add(Stopwatch.GetTimestamp() - started);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, connections).Select(i => Task.Run(() => Worker(i))));
        TimeSpan elapsed = clock.Elapsed;

        long[] all = [.. latencies.SelectMany(l => l)];
        Array.Sort(all);
        double ToUs(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        double Percentile(double p) => all.Length == 0 ? 0 : ToUs(all[Math.Min(all.Length - 1, (int)Math.Ceiling(p * all.Length) - 1)]);
        return new DriverResult(all.Length, errors, elapsed, Percentile(0.50), Percentile(0.90), Percentile(0.99), all.Length == 0 ? 0 : ToUs(all[^1]));
    }
}
