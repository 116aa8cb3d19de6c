using BenchmarkDotNet.Running;
using RequestArena.Benchmarks;

// Pick benchmarks with --filter, e.g. `--filter *Allocate32*`; see perf/README.md for the commands behind each table.
if (args is [InterleavedReport.Switch])
{
    InterleavedReport.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(MiddlewareBenchmarks).Assembly).Run(args);
