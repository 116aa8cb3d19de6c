using System.Globalization;
using RequestArena.LoadTest.Soak;

namespace RequestArena.LoadTest;

/// <summary>
/// <c>--soak</c>: the fault soak against the soak server in a child process on 127.0.0.1. Prints the figures and the
/// checks; the exit code is 0 when every check holds, 1 when one fails, 2 for bad arguments.
/// </summary>
internal static class SoakCommand
{
    public const string Usage = """
        usage: dotnet run -c Release --project perf/RequestArena.LoadTest -- --soak [options]
          --soak-requests N        requests in all (default 200000; the working set is sampled at a quarter)
          --soak-concurrency N     requests in flight (default 32)
          --soak-seed N            seed of the request mix (default 20261122)
          --soak-max-minutes M     stop issuing requests after M minutes; a run cut short fails (default 9)
          --soak-gc server|workstation   the server's GC (default server, as ASP.NET Core applications run)
        """;

    public static bool IsSoak(string[] args) => args.Contains("--soak") || args.Contains(SoakServerProcess.ServerFlag);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length >= 2 && args[0] == SoakServerProcess.ServerFlag)
        {
            return await SoakServerProcess.ServeAsync(args[1], TimeSpan.FromMinutes(60));
        }

        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        SoakSettings settings = new();
        bool serverGc = true;
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--soak":
                        break;
                    case "--soak-requests":
                        settings = settings with { Requests = long.Parse(Next(), CultureInfo.InvariantCulture) };
                        break;
                    case "--soak-concurrency":
                        settings = settings with { Concurrency = int.Parse(Next(), CultureInfo.InvariantCulture) };
                        break;
                    case "--soak-seed":
                        settings = settings with { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) };
                        break;
                    case "--soak-max-minutes":
                        settings = settings with { MaxDuration = TimeSpan.FromMinutes(double.Parse(Next(), CultureInfo.InvariantCulture)) };
                        break;
                    case "--soak-gc":
                        string gc = Next();
                        serverGc = gc switch
                        {
                            "server" => true,
                            "workstation" => false,
                            _ => throw new ArgumentException("--soak-gc is server or workstation."),
                        };
                        break;
                    default:
                        throw new ArgumentException($"Unknown soak option {args[i]}.");
                }
            }

            if (settings.Requests is < 20 or > 100_000_000 || settings.Concurrency is < 1 or > 1024 || settings.MaxDuration <= TimeSpan.Zero)
            {
                throw new ArgumentException("--soak-requests in 20..100000000, --soak-concurrency in 1..1024, --soak-max-minutes > 0.");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        await using SoakServerProcess server = await SoakServerProcess.StartAsync(settings, serverGc);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak server on {server.BaseAddress}; {settings.Requests:N0} requests, {settings.Concurrency} concurrent, seed {settings.Seed}, at most {settings.MaxDuration.TotalMinutes:0.#} min"));

        SoakResult result = await new SoakRunner(server.BaseAddress, settings, Console.Error.WriteLine).RunAsync();
        Console.WriteLine(result.Format());
        return result.Passed ? 0 : 1;
    }
}
