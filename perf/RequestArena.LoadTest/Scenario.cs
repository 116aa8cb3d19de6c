namespace RequestArena.LoadTest;

/// <summary>One endpoint under load and the variants ("modes") compared on it.</summary>
internal sealed record Scenario(string Name, string Method, string PathFormat, int BodyBytes, string[] Modes, string Baseline)
{
    public static readonly string[] AllocModes = ["arena", "pool", "new"];

    public static readonly Scenario[] All =
    [
        new("report-10", "GET", "/api/report?items=10&alloc={0}", 0, AllocModes, "new"),
        new("report-200", "GET", "/api/report?items=200&alloc={0}", 0, AllocModes, "new"),
        new("report-2000", "GET", "/api/report?items=2000&alloc={0}", 0, AllocModes, "new"),
        new("transform-4k", "POST", "/api/transform?alloc={0}", 4 * 1024, AllocModes, "new"),
        new("transform-256k", "POST", "/api/transform?alloc={0}", 256 * 1024, AllocModes, "new"),

        // The same endpoint through the arena middleware and around it: what the middleware alone costs.
        new("hello", "GET", "/{0}/hello", 0, ["api", "bare"], "bare"),
    ];

    public string PathFor(string mode) => string.Format(System.Globalization.CultureInfo.InvariantCulture, PathFormat, mode);

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
