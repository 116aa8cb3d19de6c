using RequestArena;

namespace WebDemo;

internal static class ArenaPoolLocator
{
    // The middleware's arenas rent from the shared slab pool unless it is given its own; the stats show that pool.
    public static SlabPool Pool(IServiceProvider services) => services.GetService<SlabPool>() ?? SlabPool.Shared;
}
