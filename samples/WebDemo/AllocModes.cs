namespace WebDemo;

internal static class AllocModes
{
    /// <summary>The modes whose buffers come from an <see cref="RequestArena.IModuleAllocator"/>.</summary>
    public static readonly AllocMode[] Allocators = [AllocMode.Arena, AllocMode.Pool, AllocMode.New];

    public static readonly AllocMode[] All = [.. Allocators, AllocMode.Recyclable];

    public static string Name(AllocMode mode) => mode switch
    {
        AllocMode.Arena => "arena",
        AllocMode.Pool => "pool",
        AllocMode.New => "new",
        _ => "recyclable",
    };

    // Absent means arena: the demo exists to show it. Matching is exact and lower-case so every mode has one
    // spelling; Enum.TryParse would also take "1", "Pool" and "arena,pool".
    public static bool TryParse(string? value, ReadOnlySpan<AllocMode> allowed, out AllocMode mode)
    {
        mode = AllocMode.Arena;
        if (value is null)
        {
            return true;
        }

        foreach (AllocMode candidate in allowed)
        {
            if (value == Name(candidate))
            {
                mode = candidate;
                return true;
            }
        }

        return false;
    }

    public static string Spellings(ReadOnlySpan<AllocMode> allowed)
    {
        var names = new string[allowed.Length];
        for (int i = 0; i < allowed.Length; i++)
        {
            names[i] = Name(allowed[i]);
        }

        return string.Join(", ", names);
    }
}
