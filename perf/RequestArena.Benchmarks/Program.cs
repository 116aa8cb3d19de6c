using BenchmarkDotNet.Running;

// Pick benchmarks with --filter, e.g. `--filter *Allocate32*`; see perf/README.md for the commands behind each table.
BenchmarkSwitcher.FromAssembly(typeof(RequestArena.Benchmarks.MiddlewareBenchmarks).Assembly).Run(args);
