namespace RequestArena.AspNetCore;

// The allocator GetRequestArena answered with last on this thread (see RequestArenaHttpContextExtensions).
internal static class RequestArenaLookupCache
{
    [ThreadStatic]
    private static RequestArenaAllocator? t_last;

    public static RequestArenaAllocator? Last
    {
        get => t_last;
        set => t_last = value;
    }
}
