using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace RequestArena.LoadTest.Soak;

/// <summary>
/// Drives a soak against a running <see cref="SoakApp"/>: the seeded mix in two phases (up to the sample point, then
/// to the end), quiescing after each (no handler in flight, every arena released) and reading the server's figures
/// after a full GC; the pool is sampled throughout. Bounded by count and by <see cref="SoakSettings.MaxDuration"/>.
/// </summary>
internal sealed class SoakRunner
{
    private const int MaxProblemsKept = 20;

    private readonly Uri _baseAddress;
    private readonly SoakSettings _settings;
    private readonly Action<string> _log;

    public SoakRunner(Uri baseAddress, SoakSettings settings, Action<string>? log = null)
    {
        _baseAddress = baseAddress;
        _settings = settings;
        _log = log ?? (_ => { });
    }

    public async Task<SoakResult> RunAsync()
    {
        var plan = new SoakPlan(_settings.Seed, _settings.Requests);
        long sampleAt = Math.Clamp((long)(_settings.Requests * _settings.SampleFraction), 1, _settings.Requests);
        var kinds = Enum.GetValues<SoakKind>().ToDictionary(k => k, _ => new SoakKindTally());
        var problems = new ConcurrentQueue<string>();
        long next = 0;
        long completed = 0;
        long problemCount = 0;
        Stopwatch clock = Stopwatch.StartNew();

        using var client = new SoakClient(_baseAddress, _settings, _settings.Concurrency, _settings.ClientTimeout);
        using var stopSampling = new CancellationTokenSource();
        long maxPooled = 0;
        long maxInUse = 0;
        int samples = 0;
        Task sampler = Task.Run(async () =>
        {
            while (!stopSampling.IsCancellationRequested)
            {
                try
                {
                    SoakServerReport report = await client.GetReportAsync(collect: false);
                    maxPooled = Math.Max(maxPooled, report.Pool.PooledBytes);
                    maxInUse = Math.Max(maxInUse, report.Pool.SlabsInUse);
                    samples++;
                    await Task.Delay(_settings.SampleInterval, stopSampling.Token);
                }
                catch (OperationCanceledException) when (stopSampling.IsCancellationRequested)
                {
                    return;
                }
            }
        });

        async Task Phase(long end)
        {
            async Task Worker()
            {
                while (clock.Elapsed < _settings.MaxDuration)
                {
                    long index = Interlocked.Increment(ref next) - 1;
                    if (index >= end)
                    {
                        Interlocked.Decrement(ref next);
                        return;
                    }

                    SoakKind kind = plan[index];
                    string? problem = await client.RunAsync(kind, index);
                    kinds[kind].Record(problem is null);
                    if (problem is not null && Interlocked.Increment(ref problemCount) <= MaxProblemsKept)
                    {
                        problems.Enqueue(problem);
                    }

                    long done = Interlocked.Increment(ref completed);
                    if (done % 25_000 == 0)
                    {
                        _log(string.Create(CultureInfo.InvariantCulture, $"  {done:N0} requests, {clock.Elapsed.TotalSeconds:F0} s"));
                    }
                }
            }

            await Task.WhenAll(Enumerable.Range(0, _settings.Concurrency).Select(_ => Task.Run(Worker)));
        }

        await Phase(sampleAt);
        (SoakServerReport atSample, TimeSpan quiesceAtSample) = await QuiesceAsync(client);
        _log(string.Create(CultureInfo.InvariantCulture, $"  sample at {Volatile.Read(ref completed):N0}: working set {atSample.WorkingSetBytes / 1048576.0:F1} MiB, slabs in use {atSample.Pool.SlabsInUse}, pooled {atSample.Pool.PooledBytes:N0} B"));

        await Phase(_settings.Requests);
        TimeSpan elapsed = clock.Elapsed;
        (SoakServerReport atEnd, TimeSpan quiesceAtEnd) = await QuiesceAsync(client);

        await stopSampling.CancelAsync();
        await sampler;

        var result = new SoakResult
        {
            Settings = _settings,
            Completed = Volatile.Read(ref completed),
            Elapsed = elapsed,
            Kinds = kinds,
            Problems = [.. problems],
            AtSample = atSample,
            AtEnd = atEnd,
            SampleAt = sampleAt,
            QuiesceAtSample = quiesceAtSample,
            QuiesceAtEnd = quiesceAtEnd,
            MaxPooledBytesSeen = maxPooled,
            MaxSlabsInUseSeen = maxInUse,
            PoolSamples = samples,
            Checks = [],
        };

        return result with { Checks = Check(result, plan) };
    }

    // Waits until no handler runs and every arena that was used has been released (OnCompleted callbacks included),
    // then reads the figures after a full collection. Gives up after QuiesceTimeout: the checks then fail on what
    // was left.
    private async Task<(SoakServerReport Report, TimeSpan Took)> QuiesceAsync(SoakClient client)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (clock.Elapsed < _settings.QuiesceTimeout)
        {
            SoakServerReport report = await client.GetReportAsync(collect: false);
            if (report.Counters.InFlight == 0
                && report.ReleasedRequests >= report.Counters.ArenaRequests
                && report.Pool.SlabsInUse == 0
                && report.Pool.OversizeInUse == 0)
            {
                break;
            }

            await Task.Delay(20);
        }

        TimeSpan took = clock.Elapsed;
        return (await client.GetReportAsync(collect: true), took);
    }

    private static IReadOnlyList<SoakCheck> Check(SoakResult r, SoakPlan plan)
    {
        var checks = new List<SoakCheck>();
        void Add(string name, bool passed, string detail) => checks.Add(new SoakCheck(name, passed, detail));
        string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

        Add("ran to completion", r.Completed == r.Settings.Requests,
            F($"{r.Completed:N0} of {r.Settings.Requests:N0} requests within {r.Settings.MaxDuration.TotalMinutes:0.##} min"));
        long unexpected = r.Kinds.Values.Sum(k => k.Unexpected);
        Add("every request behaved as its kind must", unexpected == 0,
            F($"{unexpected:N0} unexpected outcomes") + (unexpected == 0 ? "" : ": " + string.Join("; ", r.Kinds.Where(k => k.Value.Unexpected > 0).Select(k => F($"{k.Key} {k.Value.Unexpected}")))));

        foreach ((string label, SoakServerReport report) in new[] { ("sample", r.AtSample), ("end", r.AtEnd) })
        {
            SlabPoolStatistics p = report.Pool;
            string at = label == "sample" ? F($"after {r.SampleAt:N0}") : F($"after {r.Completed:N0}");
            Add($"quiesced ({label})", report.Counters.InFlight == 0, F($"{report.Counters.InFlight} handlers in flight {at}"));
            Add($"slabs rented == slabs returned ({label})", p.SlabsInUse == 0 && p.SlabsRented == p.SlabsReturned,
                F($"{p.SlabsRented:N0} rented, {p.SlabsReturned:N0} returned, {p.SlabsInUse} in use {at}"));
            Add($"no oversize block held ({label})", p.OversizeInUse == 0, F($"{p.OversizeRented:N0} rented, {p.OversizeInUse} in use {at}"));
            Add($"no slab lost ({label})", p.ProviderAllocatedBytes - p.ProviderFreedBytes == p.PooledBytes,
                F($"provider allocated - freed = {p.ProviderAllocatedBytes - p.ProviderFreedBytes:N0} B, pooled {p.PooledBytes:N0} B {at}"));
            Add($"pooled bytes within cap ({label})", p.PooledBytes <= p.MaxRetainedBytes && p.MaxRetainedBytes == r.Settings.MaxRetainedBytes,
                F($"{p.PooledBytes:N0} B pooled, cap {p.MaxRetainedBytes:N0} B {at}"));
            Add($"every arena released exactly once ({label})", report.ReleasedRequests == report.Counters.ArenaRequests,
                F($"{report.Counters.ArenaRequests:N0} requests used an arena, {report.ReleasedRequests:N0} released {at}"));
        }

        Add("pooled bytes within cap while loaded", r.MaxPooledBytesSeen <= r.Settings.MaxRetainedBytes && r.PoolSamples > 0,
            F($"max {r.MaxPooledBytesSeen:N0} B over {r.PoolSamples} samples, cap {r.Settings.MaxRetainedBytes:N0} B"));

        SoakServerCounters c = r.AtEnd.Counters;
        Add("no allocation read a non-zero byte", c.DirtyAllocations == 0, F($"{c.DirtyAllocations} dirty allocations"));
        Add("no memory released while its request ran", c.PrematureReleases == 0, F($"{c.PrematureReleases} ObjectDisposedException in live handlers"));
        Add("no request's memory changed under it", c.CorruptBodies == 0, F($"{c.CorruptBodies} corrupt bodies"));

        long issued(SoakKind kind) => plan.CountOf(kind, 0, r.Completed);
        long aborts = issued(SoakKind.AbortWhileStreaming) + issued(SoakKind.AbortWhileReading);
        Add("every client abort reached its handler mid-body", c.StreamAborted + c.UploadAborted == aborts && aborts > 0,
            F($"{aborts:N0} aborts issued; handlers saw {c.StreamAborted:N0} while streaming, {c.UploadAborted:N0} while reading"));
        Add("every injected exception thrown", c.Thrown == issued(SoakKind.HandlerException) && c.Thrown > 0,
            F($"{issued(SoakKind.HandlerException):N0} issued, {c.Thrown:N0} thrown"));
        Add("every timeout cancelled its handler", c.TimedOut == issued(SoakKind.Timeout) && c.TimeoutMissed == 0 && c.TimedOut > 0,
            F($"{issued(SoakKind.Timeout):N0} issued, {c.TimedOut:N0} cancelled, {c.TimeoutMissed} ran to the end"));
        Add("every quota breach counted once", c.QuotaHit == issued(SoakKind.QuotaBreach) && r.AtEnd.LimitExceeded == c.QuotaHit && c.QuotaHit > 0,
            F($"{issued(SoakKind.QuotaBreach):N0} issued, {c.QuotaHit:N0} hit the limit, {r.AtEnd.LimitExceeded:N0} counted by the middleware"));

        double change = r.WorkingSetChange;
        Add(F($"working set at the end within {r.Settings.WorkingSetTolerance:P0} of the sample"), Math.Abs(change) <= r.Settings.WorkingSetTolerance,
            F($"{r.AtSample.WorkingSetBytes / 1048576.0:F1} MiB after {r.SampleAt:N0}, {r.AtEnd.WorkingSetBytes / 1048576.0:F1} MiB after {r.Completed:N0} ({change:+0.0%;-0.0%;0.0%})"));
        return checks;
    }
}
