using System.Globalization;

namespace RequestArena.LoadTest;

/// <summary>Command-line options; every run is bounded by <see cref="Duration"/> and <see cref="MaxRequests"/>.</summary>
internal sealed class LoadTestOptions
{
    /// <summary>wrk or builtin; null lets the tool take wrk when it is installed.</summary>
    public string? Driver { get; set; }
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(3);
    // 3 s, not less: a shorter warm-up leaves the first measured round of the first mode paying for the tier-1 JIT work
    // the other modes' warm-ups queued, which on 2 cores skews that mode's figures.
    public TimeSpan WarmUp { get; set; } = TimeSpan.FromSeconds(3);
    public int Rounds { get; set; } = 3;
    public int[] Connections { get; set; } = [1, 16, 128];
    public string[] Scenarios { get; set; } = [.. Scenario.All.Select(s => s.Name)];
    public long MaxRequests { get; set; } = 2_000_000;
    public string OutputDirectory { get; set; } = Path.Combine("perf", "results");
    public string? AppPath { get; set; }

    /// <summary>Every mode in one WebDemo process instead of one process per mode (see the tool's ModeServers).</summary>
    public bool SharedServer { get; set; }

    /// <summary>The sweep of the records scenario over allocations per request and over connections.</summary>
    public bool Sweep { get; set; }

    public int[] SweepAllocations { get; set; } = [12, 100, 1000, 10_000];

    public int[] SweepConnections { get; set; } = [1, 4, 16, 64, 128];

    /// <summary>The allocations per request of the connections sweep.</summary>
    public int SweepFixedAllocations { get; set; } = 1000;

    /// <summary>The connections of the allocations sweep.</summary>
    public int SweepFixedConnections { get; set; } = 16;

    /// <summary>Where the sweep's SVG charts go: the committed ones live in perf/.</summary>
    public string ChartDirectory { get; set; } = "perf";

    public static LoadTestOptions Parse(string[] args)
    {
        var options = new LoadTestOptions();
        var given = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            given.Add(args[i]);
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
                    options.Duration = Seconds("--duration", Next());
                    break;
                case "--warmup":
                    options.WarmUp = Seconds("--warmup", Next());
                    break;
                case "--rounds":
                    options.Rounds = Int("--rounds", Next());
                    break;
                case "--connections":
                    options.Connections = Ints("--connections", Next());
                    break;
                case "--scenarios":
                    options.Scenarios = Next().Split(',');
                    break;
                case "--max-requests":
                    options.MaxRequests = Long("--max-requests", Next());
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
                    options.Scenarios = ["records-2000", "report-200", "hello"];
                    break;
                case "--shared-server":
                    options.SharedServer = true;
                    break;
                case "--sweep":
                    options.Sweep = true;
                    break;
                case "--sweep-allocations":
                    options.SweepAllocations = Ints("--sweep-allocations", Next());
                    break;
                case "--sweep-connections":
                    options.SweepConnections = Ints("--sweep-connections", Next());
                    break;
                case "--sweep-fixed-allocations":
                    options.SweepFixedAllocations = Int("--sweep-fixed-allocations", Next());
                    break;
                case "--sweep-fixed-connections":
                    options.SweepFixedConnections = Int("--sweep-fixed-connections", Next());
                    break;
                case "--charts":
                    options.ChartDirectory = Next();
                    break;
                case "--help" or "-h":
                    throw new ArgumentException(Usage);
                default:
                    throw new ArgumentException($"Unknown option {args[i]}.\n{Usage}");
            }
        }

        foreach (string name in options.Scenarios)
        {
            if (!Scenario.TryFind(name, out _))
            {
                throw new ArgumentException($"Unknown scenario {name}; known: {string.Join(", ", Scenario.All.Select(s => s.Name))}, and records-N for any N that is a multiple of {Scenario.AllocationsPerRecord}.");
            }
        }

        if (options.Sweep)
        {
            // Short by default: 9 points of 3 modes; a longer sweep asks for it.
            options.Duration = given.Contains("--duration") ? options.Duration : TimeSpan.FromSeconds(1);
            options.WarmUp = given.Contains("--warmup") ? options.WarmUp : TimeSpan.FromSeconds(1);
            options.Rounds = given.Contains("--rounds") ? options.Rounds : 3;
            foreach (int allocations in options.SweepAllocations.Append(options.SweepFixedAllocations))
            {
                if (!Scenario.TryFind($"records-{allocations}", out _))
                {
                    throw new ArgumentException($"Sweep allocations must be positive multiples of {Scenario.AllocationsPerRecord}: {allocations} is not.");
                }
            }

            if (options.SweepConnections.Append(options.SweepFixedConnections).Any(c => c is < 1 or > 1024))
            {
                throw new ArgumentException("Sweep connections must be in 1..1024.");
            }
        }

        if (options.Rounds is < 1 or > 1000 || options.Duration <= TimeSpan.Zero || options.Duration > TimeSpan.FromMinutes(5)
            || options.WarmUp < TimeSpan.Zero || options.WarmUp > TimeSpan.FromMinutes(5)
            || options.Connections.Any(c => c is < 1 or > 1024) || options.MaxRequests < 1)
        {
            throw new ArgumentException("--rounds in 1..1000, --duration in (0, 300] s, --warmup in [0, 300] s, --connections in 1..1024, --max-requests >= 1.");
        }

        if (options.AppPath is not null && !File.Exists(options.AppPath))
        {
            throw new ArgumentException($"--app: no file at {options.AppPath}.");
        }

        // Results are written after every run: a directory that cannot take them must stop the tool before the load.
        EnsureWritable("--out", options.OutputDirectory);
        if (options.Sweep)
        {
            EnsureWritable("--charts", options.ChartDirectory);
        }

        return options;
    }

    private static void EnsureWritable(string option, string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            string probe = Path.Combine(directory, $".write-probe-{Environment.ProcessId}");
            File.WriteAllBytes(probe, [0]);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"{option}: cannot write results into {directory}: {ex.Message}");
        }
    }

    private static TimeSpan Seconds(string option, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
            && double.IsFinite(seconds) && Math.Abs(seconds) <= 86_400
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"{option} takes a number of seconds; got '{value}'.");

    private static int Int(string option, string value) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int number)
            ? number
            : throw new ArgumentException($"{option} takes a whole number; got '{value}'.");

    private static long Long(string option, string value) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number)
            ? number
            : throw new ArgumentException($"{option} takes a whole number; got '{value}'.");

    private static int[] Ints(string option, string list) => [.. list.Split(',').Select(c => Int(option, c))];

    public const string Usage = """
        usage: dotnet run -c Release --project perf/RequestArena.LoadTest -- [options]
          --driver wrk|builtin     load generator (default: wrk when installed)
          --duration S             seconds per measured run (default 3)
          --warmup S               seconds of warm-up per mode before the rounds (default 3)
          --rounds N               interleaved rounds A B C, B C A, ... (default 3)
          --connections 1,16,128   concurrency levels (default 1,16,128)
          --scenarios a,b          report-10, report-200, report-2000, records-2000, transform-4k, transform-256k, hello
                                   (records-N: N small allocations kept until the request ends, N a multiple of 4)
          --max-requests N         cap per run, whichever of time and count comes first (default 2000000)
          --out DIR                where results.json and chart.svg go (default perf/results)
          --app PATH               WebDemo.dll to run (default: the one built with this project)
          --shared-server          every mode in one WebDemo process (default: one process per mode)
          --quick                  records-2000, report-200 and hello at 16 connections, 2 rounds of 2 s
          --sweep                  records at --sweep-allocations 12,100,1000,10000 (at --sweep-fixed-connections 16)
                                   and at --sweep-connections 1,4,16,64,128 (at --sweep-fixed-allocations 1000);
                                   3 rounds of 1 s after 1 s warm-up unless given; SVG charts into --charts (default perf)
          --soak [--soak-...]      the fault soak instead (docs/RELIABILITY.md; --soak --help for its options)
        """;
}
