using System.Globalization;
using System.Text;

namespace RequestArena.LoadTest.Soak;

/// <summary>Everything a soak run measured and decided; <see cref="Format"/> is what the tool prints.</summary>
internal sealed record SoakResult
{
    public required SoakSettings Settings { get; init; }

    public required long Completed { get; init; }

    public required TimeSpan Elapsed { get; init; }

    public required IReadOnlyDictionary<SoakKind, SoakKindTally> Kinds { get; init; }

    public required IReadOnlyList<string> Problems { get; init; }

    public required SoakServerReport AtSample { get; init; }

    public required SoakServerReport AtEnd { get; init; }

    public required long SampleAt { get; init; }

    public required TimeSpan QuiesceAtSample { get; init; }

    public required TimeSpan QuiesceAtEnd { get; init; }

    public required long MaxPooledBytesSeen { get; init; }

    public required long MaxSlabsInUseSeen { get; init; }

    public required int PoolSamples { get; init; }

    public required IReadOnlyList<SoakCheck> Checks { get; init; }

    public bool Passed => Checks.All(c => c.Passed);

    public double WorkingSetChange => (AtEnd.WorkingSetBytes - AtSample.WorkingSetBytes) / (double)AtSample.WorkingSetBytes;

    public string Format()
    {
        var text = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"Soak: {Completed:N0} of {Settings.Requests:N0} requests in {Elapsed.TotalSeconds:F1} s ({Completed / Math.Max(Elapsed.TotalSeconds, 0.001):N0} req/s), {Settings.Concurrency} concurrent, seed {Settings.Seed}, {(AtEnd.ServerGc ? "Server" : "Workstation")} GC");
        text.AppendLine(inv, $"Server: slab {Settings.SlabSize:N0} B, pool cap {Settings.MaxRetainedBytes:N0} B, quota endpoint {Settings.QuotaBytes:N0} B, request timeout {Settings.RequestTimeout.TotalMilliseconds:0} ms, slow stream {Settings.SlowChunks} x {Settings.ChunkSize} B every {Settings.SlowChunkDelayMs} ms");
        text.AppendLine();
        text.AppendLine("| kind | issued | unexpected |");
        text.AppendLine("|---|---:|---:|");
        foreach ((SoakKind kind, SoakKindTally tally) in Kinds.OrderBy(k => k.Key))
        {
            text.AppendLine(inv, $"| {kind} | {tally.Issued:N0} | {tally.Unexpected:N0} |");
        }

        SoakServerCounters c = AtEnd.Counters;
        text.AppendLine();
        text.AppendLine(inv, $"Server handlers: normal {c.NormalDone:N0}, upload {c.UploadDone:N0}, stream {c.StreamDone:N0}, stream aborted {c.StreamAborted:N0}, upload aborted {c.UploadAborted:N0}, thrown {c.Thrown:N0}, timed out {c.TimedOut:N0}, quota hit {c.QuotaHit:N0}; dirty allocations {c.DirtyAllocations}, premature releases {c.PrematureReleases}, corrupt bodies {c.CorruptBodies}");
        text.AppendLine(inv, $"Arena requests {c.ArenaRequests:N0}, released {AtEnd.ReleasedRequests:N0}, limit exceeded {AtEnd.LimitExceeded:N0}");
        text.AppendLine();
        text.AppendLine("| at quiesce | requests | quiesce ms | slabs rented | slabs returned | in use | oversize rented | oversize in use | pooled bytes | dropped | trimmed | provider alloc - freed | working set MiB | GC heap MiB | GC committed MiB |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        AppendRow(text, $"after {SampleAt:N0}", SampleAt, QuiesceAtSample, AtSample);
        AppendRow(text, $"after {Completed:N0}", Completed, QuiesceAtEnd, AtEnd);
        text.AppendLine();
        text.AppendLine(inv, $"While loaded ({PoolSamples} samples): max pooled bytes {MaxPooledBytesSeen:N0} (cap {Settings.MaxRetainedBytes:N0}), max slabs in use {MaxSlabsInUseSeen:N0}");
        text.AppendLine(inv, $"Working set after GC: {Mib(AtSample.WorkingSetBytes)} MiB at {SampleAt:N0}, {Mib(AtEnd.WorkingSetBytes)} MiB at {Completed:N0} ({WorkingSetChange:+0.0%;-0.0%;0.0%})");
        text.AppendLine();
        foreach (SoakCheck check in Checks)
        {
            text.AppendLine(inv, $"{(check.Passed ? "PASS" : "FAIL")}  {check.Name}: {check.Detail}");
        }

        if (Problems.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("First unexpected outcomes:");
            foreach (string problem in Problems)
            {
                text.AppendLine("  " + problem);
            }
        }

        text.AppendLine();
        text.AppendLine(Passed ? "SOAK PASSED" : $"SOAK FAILED (seed {Settings.Seed})");
        return text.ToString();
    }

    private static void AppendRow(StringBuilder text, string label, long requests, TimeSpan quiesce, SoakServerReport r)
    {
        SlabPoolStatistics p = r.Pool;
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| {label} | {requests:N0} | {quiesce.TotalMilliseconds:N0} | {p.SlabsRented:N0} | {p.SlabsReturned:N0} | {p.SlabsInUse} | {p.OversizeRented:N0} | {p.OversizeInUse} | {p.PooledBytes:N0} | {p.SlabsDropped:N0} | {p.SlabsTrimmed:N0} | {p.ProviderAllocatedBytes - p.ProviderFreedBytes:N0} | {Mib(r.WorkingSetBytes)} | {Mib(r.GcHeapBytes)} | {Mib(r.GcCommittedBytes)} |");
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
}

/// <summary>One verdict of a soak run: what was checked, whether it held, and the figures behind it.</summary>
internal sealed record SoakCheck(string Name, bool Passed, string Detail);
