using System.Globalization;

namespace RequestArena.LoadTest;

/// <summary>Command-line options; every run is bounded by <see cref="Duration"/> and <see cref="MaxRequests"/>.</summary>
internal sealed class LoadTestOptions
{
    public string Driver { get; set; } = WrkDriver.IsInstalled() ? "wrk" : "builtin";
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(3);
    // 3 s, not less: with 1 s the first measured round of the first mode (arena) ran ~40% slow in every run on
    // 2 cores, paying for the tier-1 JIT work the other modes' warm-ups had queued.
    public TimeSpan WarmUp { get; set; } = TimeSpan.FromSeconds(3);
    public int Rounds { get; set; } = 3;
    public int[] Connections { get; set; } = [1, 16, 128];
    public string[] Scenarios { get; set; } = [.. Scenario.All.Select(s => s.Name)];
    public long MaxRequests { get; set; } = 2_000_000;
    public string OutputDirectory { get; set; } = Path.Combine("perf", "results");
    public string? AppPath { get; set; }

    public static LoadTestOptions Parse(string[] args)
    {
        var options = new LoadTestOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--driver":
                    options.Driver = Next();
                    if (options.Driver is not ("wrk" or "builtin"))
                    {
                        throw new ArgumentException("--driver is wrk or builtin.");
                    }

                    break;
                case "--duration":
                    options.Duration = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
                    break;
                case "--warmup":
                    options.WarmUp = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
                    break;
                case "--rounds":
                    options.Rounds = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--connections":
                    options.Connections = [.. Next().Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))];
                    break;
                case "--scenarios":
                    options.Scenarios = Next().Split(',');
                    break;
                case "--max-requests":
                    options.MaxRequests = long.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--out":
                    options.OutputDirectory = Next();
                    break;
                case "--app":
                    options.AppPath = Next();
                    break;
                case "--quick":
                    // For development: one concurrency, the scenarios the bars are about, short runs.
                    options.Duration = TimeSpan.FromSeconds(2);
                    options.WarmUp = TimeSpan.FromSeconds(1);
                    options.Rounds = 2;
                    options.Connections = [16];
                    options.Scenarios = ["report-200", "hello"];
                    break;
                case "--help" or "-h":
                    throw new ArgumentException(Usage);
                default:
                    throw new ArgumentException($"Unknown option {args[i]}.\n{Usage}");
            }
        }

        foreach (string name in options.Scenarios)
        {
            if (Scenario.All.All(s => s.Name != name))
            {
                throw new ArgumentException($"Unknown scenario {name}; known: {string.Join(", ", Scenario.All.Select(s => s.Name))}.");
            }
        }

        if (options.Rounds < 1 || options.Duration <= TimeSpan.Zero || options.Duration > TimeSpan.FromMinutes(5) || options.Connections.Any(c => c is < 1 or > 1024) || options.MaxRequests < 1)
        {
            throw new ArgumentException("--rounds >= 1, --duration in (0, 300] s, --connections in 1..1024, --max-requests >= 1.");
        }

        return options;
    }

    public const string Usage = """
        usage: dotnet run -c Release --project perf/RequestArena.LoadTest -- [options]
          --driver wrk|builtin     load generator (default: wrk when installed)
          --duration S             seconds per measured run (default 3)
          --warmup S               seconds of warm-up per mode before the rounds (default 3)
          --rounds N               interleaved rounds A B C, B C A, ... (default 3)
          --connections 1,16,128   concurrency levels (default 1,16,128)
          --scenarios a,b          report-10, report-200, report-2000, transform-4k, transform-256k, hello
          --max-requests N         cap per run, whichever of time and count comes first (default 2000000)
          --out DIR                where results.json and chart.svg go (default perf/results)
          --app PATH               WebDemo.dll to run (default: the one built with this project)
          --quick                  report-200 and hello at 16 connections, 2 rounds of 2 s
          --soak [--soak-...]      the fault soak instead (docs/RELIABILITY.md; --soak --help for its options)
        """;
}
