using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using RequestArena.Benchmarks;

// Pick benchmarks with --filter, e.g. `--filter *Allocate32*`; see perf/README.md for the commands behind each table.
if (args is [InterleavedReport.Switch])
{
    InterleavedReport.Run();
    return 0;
}

if (args is [InterleavedHandle.Switch, ..])
{
    return InterleavedHandle.Run(args);
}

if (InterleavedHandle.IsChild(args))
{
    InterleavedHandle.RunChild();
    return 0;
}

// Each benchmark's process is built by BenchmarkDotNet first; on a busy 2-core machine that can take longer than
// its default of two minutes.
BenchmarkSwitcher.FromAssembly(typeof(MiddlewareBenchmarks).Assembly).Run(args, ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10)));
return 0;
