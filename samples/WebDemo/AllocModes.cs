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
        switch (value)
        {
            case null or "arena":
                mode = AllocMode.Arena;
                return true;
            case "pool":
                mode = AllocMode.Pool;
                return true;
            case "new":
                mode = AllocMode.New;
                return true;
            default:
                mode = default;
                return false;
        }
    }
}
