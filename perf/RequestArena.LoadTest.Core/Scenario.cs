using System.Globalization;

namespace RequestArena.LoadTest;

/// <summary>One endpoint under load and the variants ("modes") compared on it.</summary>
internal sealed record Scenario(string Name, string Method, string PathFormat, int BodyBytes, string[] Modes, string Baseline)
{
    public static readonly string[] AllocModes = ["arena", "pool", "new"];

    /// <summary>The transform endpoint also runs on Microsoft.IO.RecyclableMemoryStream, what users pick for big buffers.</summary>
    public static readonly string[] TransformModes = [.. AllocModes, "recyclable"];

    /// <summary>Small buffers the records endpoint allocates per record (one per field), all kept until the request ends.</summary>
    public const int AllocationsPerRecord = 4;

    public static readonly Scenario[] All =
    [
        new("report-10", "GET", "/api/report?items=10&alloc={0}", 0, AllocModes, "new"),
        new("report-200", "GET", "/api/report?items=200&alloc={0}", 0, AllocModes, "new"),
        new("report-2000", "GET", "/api/report?items=2000&alloc={0}", 0, AllocModes, "new"),
        Records(2000),
        new("transform-4k", "POST", "/api/transform?alloc={0}", 4 * 1024, TransformModes, "new"),
        new("transform-256k", "POST", "/api/transform?alloc={0}", 256 * 1024, TransformModes, "new"),

        // The same endpoint through the arena middleware and around it: what the middleware alone costs.
        new("hello", "GET", "/{0}/hello", 0, ["api", "bare"], "bare"),
    ];

    /// <summary>Small allocations per request, for the records scenarios (0 for the others).</summary>
    public int AllocationsPerRequest { get; init; }

    /// <summary>
    /// <c>records-N</c>: a request that makes <paramref name="allocations"/> small allocations (16–256 B) and keeps them
    /// all until it ends, through the handler's injected <c>IModuleAllocator</c> in every mode.
    /// </summary>
    /// <param name="allocations">Allocations per request: a positive multiple of <see cref="AllocationsPerRecord"/>.</param>
    public static Scenario Records(int allocations)
    {
        if (allocations <= 0 || allocations % AllocationsPerRecord != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(allocations), allocations, $"Allocations per request must be a positive multiple of {AllocationsPerRecord} (one per field of a record).");
        }

        return new Scenario(
            $"records-{allocations}", "GET",
            string.Create(CultureInfo.InvariantCulture, $"/api/records?count={allocations / AllocationsPerRecord}&alloc={{0}}"), 0, AllocModes, "new")
        {
            AllocationsPerRequest = allocations,
        };
    }

    /// <summary>A scenario of <see cref="All"/> by name, or a records scenario of any allocation count.</summary>
    public static bool TryFind(string name, out Scenario scenario)
    {
        scenario = All.FirstOrDefault(s => s.Name == name)!;
        if (scenario is null && name.StartsWith("records-", StringComparison.Ordinal)
            && int.TryParse(name.AsSpan("records-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int allocations)
            && allocations > 0 && allocations % AllocationsPerRecord == 0)
        {
            scenario = Records(allocations);
        }

        return scenario is not null;
    }

    public string PathFor(string mode) => string.Format(CultureInfo.InvariantCulture, PathFormat, mode);

    /// <summary>
    /// The modes in the order round <paramref name="round"/> (from 1) runs them: rotated by one place per round, so
    /// over as many rounds as there are modes each mode runs once in each position.
    /// </summary>
    public static IEnumerable<string> RoundOrder(string[] modes, int round)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(round, 1);
        for (int i = 0; i < modes.Length; i++)
        {
            yield return modes[(round - 1 + i) % modes.Length];
        }
    }

    public static string ModeLabel(Scenario scenario, string mode) =>
        scenario.Name == "hello" ? (mode == "api" ? "middleware" : "no middleware") : mode;

    /// <summary>A printable ASCII body, the same for every mode and run.</summary>
    public byte[] Body()
    {
        var body = new byte[BodyBytes];
        ReadOnlySpan<byte> text = "The quick brown fox jumps over the lazy dog 0123456789. "u8;
        for (int i = 0; i < body.Length; i++)
        {
            body[i] = text[i % text.Length];
        }

        return body;
    }
}
