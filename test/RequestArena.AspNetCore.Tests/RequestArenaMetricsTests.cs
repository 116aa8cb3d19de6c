using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;

namespace RequestArena.AspNetCore.Tests;

/// <summary>The RequestArena meter, observed the way a metrics exporter would: through a MeterListener.</summary>
public sealed class RequestArenaMetricsTests
{
    [Fact]
    public async Task AllocatedHistogram_OneMeasurementPerRequestThatUsedItsArena()
    {
        await using var host = await StartAsync();
        using var recorder = new Recorder(host);

        await host.Client.GetStringAsync("/unused");
        await host.Client.GetStringAsync("/alloc/1000");
        await host.Client.GetStringAsync("/unused");
        await host.Client.GetStringAsync("/alloc/3000");
        await Released.WaitUntilAsync(() => recorder.Values("requestarena.request.allocated").Count == 2, "two measurements are recorded");

        Assert.Equal([1000L, 3000L], recorder.Values("requestarena.request.allocated").Order());
        Assert.All(recorder.Tags("requestarena.request.allocated"), tags => Assert.Equal("/alloc/{bytes:int}", tags["http.route"]));
    }

    [Fact]
    public async Task AllocatedHistogram_UnitAndBucketAdviceCover0To64MiB()
    {
        await using var host = await StartAsync();
        using var recorder = new Recorder(host);

        var histogram = Assert.IsType<Histogram<long>>(recorder.Instrument("requestarena.request.allocated"));

        Assert.Equal("By", histogram.Unit);
        IReadOnlyList<long> bounds = histogram.Advice!.HistogramBucketBoundaries!;
        Assert.Equal(0, bounds[0]);
        Assert.Equal(64L * 1024 * 1024, bounds[^1]);
        Assert.True(bounds.Zip(bounds.Skip(1)).All(pair => pair.First < pair.Second));
    }

    [Fact]
    public async Task SlabRentedCounter_CountsSlabsAndOversizeBlocks()
    {
        await using var host = await StartAsync(options => options.SlabSize = 4096);
        using var recorder = new Recorder(host);

        await host.Client.GetStringAsync("/alloc/100");
        await host.Client.GetStringAsync("/alloc/10000");

        // Not the histogram's count: a release records its histogram measurement before it adds its slabs.
        await host.WaitForReleasesAsync(2);
        Assert.Equal(2, recorder.Values("requestarena.request.allocated").Count);

        // One slab for the small request; one oversize block (10000 B > 4 KiB slab) for the large one.
        Assert.Equal(2, recorder.Values("requestarena.slab.rented").Sum());
    }

    [Fact]
    public async Task LimitExceededCounter_CountsEachRequestOnceWithRoute()
    {
        await using var host = await StartAsync(options => options.MaxBytesPerRequest = 500);
        using var recorder = new Recorder(host);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.Client.GetAsync("/alloc/501")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.Client.GetAsync("/alloc/900")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/alloc/500")).StatusCode);
        await Released.WaitUntilAsync(() => recorder.Values("requestarena.request.allocated").Count == 3, "all three requests are recorded");

        Assert.Equal([1L, 1L], recorder.Values("requestarena.limit.exceeded"));
        Assert.All(recorder.Tags("requestarena.limit.exceeded"), tags => Assert.Equal("/alloc/{bytes:int}", tags["http.route"]));
    }

    [Fact]
    public async Task PoolGauges_ReportPooledBytesAndSlabsInUse()
    {
        await using var host = await StartAsync();
        using var recorder = new Recorder(host);

        await host.Client.GetStringAsync("/alloc/1000");
        await Released.WaitUntilAsync(() => recorder.Values("requestarena.request.allocated").Count == 1, "the request is recorded");
        recorder.Listener.RecordObservableInstruments();

        Assert.Equal(RequestArenaOptions.DefaultSlabSize, recorder.Values("requestarena.pool.pooled_bytes").Last());
        Assert.Equal(0, recorder.Values("requestarena.pool.slabs_in_use").Last());
    }

    [Fact]
    public async Task Meter_IsCreatedFromTheHostsMeterFactory()
    {
        await using var host = await StartAsync();
        using var recorder = new Recorder(host);

        Instrument instrument = recorder.Instrument("requestarena.slab.rented");

        Assert.Equal("RequestArena", instrument.Meter.Name);
        Assert.Same(host.MeterFactory, instrument.Meter.Scope);
        Assert.IsType<Counter<long>>(instrument);
        Assert.IsType<Counter<long>>(recorder.Instrument("requestarena.limit.exceeded"));
        Assert.IsType<ObservableGauge<long>>(recorder.Instrument("requestarena.pool.pooled_bytes"));
        Assert.IsType<ObservableGauge<long>>(recorder.Instrument("requestarena.pool.slabs_in_use"));
        Assert.IsType<ObservableCounter<long>>(recorder.Instrument("requestarena.pool.provider_free_failures"));
    }

    [Fact]
    public async Task ProviderFreeFailuresCounter_CountsFreesTheSlabProviderFailed()
    {
        var provider = new FailingFreeSlabProvider();
        await using var host = await StartAsync(options =>
        {
            options.SlabProvider = provider;
            options.MaxRetainedBytes = 0;
        });
        using var recorder = new Recorder(host);

        recorder.Listener.RecordObservableInstruments();
        long before = recorder.Values("requestarena.pool.provider_free_failures").Last();
        await host.Client.GetStringAsync("/alloc/1000");
        await Released.WaitUntilAsync(() => recorder.Values("requestarena.request.allocated").Count == 1, "the request is recorded");
        recorder.Listener.RecordObservableInstruments();

        Assert.Equal(0, before);
        Assert.Equal(1, recorder.Values("requestarena.pool.provider_free_failures").Last());
        Assert.Equal(1, provider.FreeCalls);
    }

    private static Task<ArenaTestHost> StartAsync(Action<RequestArenaOptions>? options = null) =>
        ArenaTestHost.StartAsync(
            app =>
            {
                app.MapGet("/unused", () => "unused");
                app.MapGet("/alloc/{bytes:int}", (int bytes, IModuleAllocator arena) => arena.AllocateMemory(bytes).Length);
            },
            options);

    /// <summary>Listens to this host's RequestArena meter only, so tests running in parallel do not see each other.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly ConcurrentQueue<(string Name, long Value, Dictionary<string, object?> Tags)> _measurements = new();
        private readonly ConcurrentDictionary<string, Instrument> _instruments = new();

        public Recorder(ArenaTestHost host)
        {
            IMeterFactory factory = host.MeterFactory;
            Listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "RequestArena" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    _instruments[instrument.Name] = instrument;
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            Listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                var copy = new Dictionary<string, object?>();
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    copy[tag.Key] = tag.Value;
                }

                _measurements.Enqueue((instrument.Name, value, copy));
            });
            Listener.Start();
        }

        public MeterListener Listener { get; } = new();

        public Instrument Instrument(string name) => _instruments[name];

        public List<long> Values(string name) => [.. _measurements.Where(m => m.Name == name).Select(m => m.Value)];

        public List<Dictionary<string, object?>> Tags(string name) => [.. _measurements.Where(m => m.Name == name).Select(m => m.Tags)];

        public void Dispose() => Listener.Dispose();
    }
}
