using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace RequestArena.Benchmarks;

/// <summary>
/// A "vs peer" column: each row's median over the median of one reference benchmark of the same class and job, from
/// the same run. It sits beside BenchmarkDotNet's own Ratio column, so a class can be read against its usual baseline
/// and against a peer at once without running any benchmark twice.
/// </summary>
internal sealed class PeerRatioColumn(string peerMethod) : IColumn
{
    public string Id => nameof(PeerRatioColumn) + "." + peerMethod;

    public string ColumnName => "vs peer";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"Median over the median of {peerMethod} (same run, same job)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkCase? peer = summary.BenchmarksCases.FirstOrDefault(c =>
            c.Descriptor.Type == benchmarkCase.Descriptor.Type &&
            c.Descriptor.WorkloadMethod.Name == peerMethod &&
            c.Job.DisplayInfo == benchmarkCase.Job.DisplayInfo &&
            c.Parameters.DisplayInfo == benchmarkCase.Parameters.DisplayInfo);
        double? own = summary[benchmarkCase]?.ResultStatistics?.Median;
        double? reference = peer is null ? null : summary[peer]?.ResultStatistics?.Median;
        return own is { } o && reference is > 0 ? (o / reference.Value).ToString("F2", CultureInfo.InvariantCulture) : "?";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}

/// <summary>Adds a <see cref="PeerRatioColumn"/> against the named benchmark method of the same class.</summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class PeerRatioColumnAttribute(string peerMethod) : ColumnConfigBaseAttribute(new PeerRatioColumn(peerMethod));
