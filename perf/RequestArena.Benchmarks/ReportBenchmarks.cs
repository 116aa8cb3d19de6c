using System.Reflection;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using WebDemo;

namespace RequestArena.Benchmarks;

/// <summary>
/// One <c>GET /api/report?items=200</c> of the demo, without the server: the real endpoint behind the real
/// UseRequestArena middleware, on a reused DefaultHttpContext whose body goes to <see cref="Stream.Null"/>, with the
/// arena released as the server would after the response. It measures the part of a request the buffer source
/// can change, which the load test's end-to-end figures hide under Kestrel's share and the machine's noise.
/// Each case runs in its own process, so the JIT's profile sees one kind of memory, as it does in a server that
/// serves one mode.
/// </summary>
[MemoryDiagnoser]
public class ReportBenchmarks
{
    private const string Query = "?items=200&alloc=";

    private ServiceProvider _checkedServices = null!;
    private ServiceProvider _uncheckedServices = null!;
    private ServiceProvider _unzeroedServices = null!;
    private RequestDelegate _checkedApp = null!;
    private RequestDelegate _uncheckedApp = null!;
    private RequestDelegate _unzeroedApp = null!;
    private DefaultHttpContext _context = null!;
    private CompletingResponseFeature _response = null!;

    [GlobalSetup]
    public void Setup()
    {
        _checkedServices = new ServiceCollection().AddRequestArena().BuildServiceProvider();
        _uncheckedServices = new ServiceCollection().AddRequestArena(o => o.DetectUseAfterRelease = false).BuildServiceProvider();
        _unzeroedServices = new ServiceCollection().AddRequestArena(o => o.ZeroMemory = false).BuildServiceProvider();
        var counters = new DemoCounters();
        _checkedApp = Build(_checkedServices, counters);
        _uncheckedApp = Build(_uncheckedServices, counters);
        _unzeroedApp = Build(_unzeroedServices, counters);

        _context = new DefaultHttpContext();
        _response = new CompletingResponseFeature();
        _context.Features.Set<IHttpResponseFeature>(_response);
        _context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        _context.SetEndpoint(new Endpoint(null, EndpointMetadataCollection.Empty, "report"));

        // A query the endpoint refused would time a 400 response instead of a report.
        foreach ((_, Func<Task> request) in Cases())
        {
            request().GetAwaiter().GetResult();
            if (_context.Response.StatusCode != StatusCodes.Status200OK || _context.Response.ContentLength < 10_000)
            {
                throw new InvalidOperationException($"The report endpoint answered {_context.Response.StatusCode} with {_context.Response.ContentLength} bytes.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _checkedServices.Dispose();
        _uncheckedServices.Dispose();
        _unzeroedServices.Dispose();
    }

    [Benchmark(Baseline = true, Description = "pool")]
    public Task Pool() => Request(_checkedApp, Query + "pool");

    [Benchmark(Description = "new")]
    public Task New() => Request(_checkedApp, Query + "new");

    [Benchmark(Description = "arena")]
    public Task Arena() => Request(_checkedApp, Query + "arena");

    [Benchmark(Description = "arena, DetectUseAfterRelease off")]
    public Task ArenaUnchecked() => Request(_uncheckedApp, Query + "arena");

    [Benchmark(Description = "arena, ZeroMemory off")]
    public Task ArenaUnzeroed() => Request(_unzeroedApp, Query + "arena");

    /// <summary>Every benchmark of this class, the baseline first, by its description: what --interleaved-report runs.</summary>
    internal IReadOnlyList<(string Name, Func<Task> Request)> Cases() =>
        [.. from method in typeof(ReportBenchmarks).GetMethods()
            let benchmark = method.GetCustomAttribute<BenchmarkAttribute>()
            where benchmark is not null
            orderby benchmark.Baseline descending, method.MetadataToken
            select (benchmark.Description ?? method.Name, method.CreateDelegate<Func<Task>>(this))];

    private Task Request(RequestDelegate app, string query)
    {
        _context.Request.QueryString = new QueryString(query);
        Task task = app(_context);

        // The server's part after the response: OnCompleted, which releases the arena.
        return task.IsCompletedSuccessfully ? _response.CompleteAsync() : task;
    }

    private static RequestDelegate Build(IServiceProvider services, DemoCounters counters)
    {
        var app = new ApplicationBuilder(services);
        app.UseRequestArena();
        app.Run(context => ReportEndpoint.HandleAsync(context, counters));
        return app.Build();
    }
}
