using RequestArena;

namespace WebDemo;

internal static class BufferSources
{
    /// <summary>The buffer source <paramref name="mode"/> names, from those the handler was given.</summary>
    /// <remarks>
    /// All three sit behind <see cref="IModuleAllocator"/>, so an endpoint's code is the same in every mode: what a
    /// load test measures between modes is where the buffers come from, nothing else. Asking for the request's
    /// allocator costs no arena; one is rented only at the first allocation.
    /// </remarks>
    public static IModuleAllocator Select(AllocMode mode, IModuleAllocator arena, ArrayPoolAllocator pool) => mode switch
    {
        AllocMode.Arena => arena,
        AllocMode.Pool => pool,
        AllocMode.New => HeapAllocator.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Not a buffer source behind IModuleAllocator."),
    };
}
