namespace WebDemo;

internal static class AllocModes
{
    public static readonly AllocMode[] All = [AllocMode.Arena, AllocMode.Pool, AllocMode.New];

    public static string Name(AllocMode mode) => mode switch
    {
        AllocMode.Arena => "arena",
        AllocMode.Pool => "pool",
        _ => "new",
    };

    // Absent means arena: the demo exists to show it. Matching is exact and lower-case so every mode has one spelling.
    public static bool TryParse(string? value, out AllocMode mode)
    {
        if (value is null)
        {
            mode = AllocMode.Arena;
            return true;
        }

        return TryParse(value.AsSpan(), out mode);
    }

    public static bool TryParse(ReadOnlySpan<char> value, out AllocMode mode)
    {
        if (value.SequenceEqual("arena"))
        {
            mode = AllocMode.Arena;
            return true;
        }

        if (value.SequenceEqual("pool"))
        {
            mode = AllocMode.Pool;
            return true;
        }

        if (value.SequenceEqual("new"))
        {
            mode = AllocMode.New;
            return true;
        }

        mode = default;
        return false;
    }
}
