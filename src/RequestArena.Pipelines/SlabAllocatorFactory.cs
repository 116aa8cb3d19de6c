using System.Runtime.CompilerServices;
using Pipelines.Sockets.Unofficial.Arenas;
using PipelinesArenaOptions = Pipelines.Sockets.Unofficial.Arenas.ArenaOptions;

namespace RequestArena.Pipelines;

/// <summary>
/// Makes a multi-type Pipelines.Sockets.Unofficial <c>Arena</c> take its blocks from an <see cref="IModuleAllocator"/>:
/// pass it as the arena's factory. Element types without references get a <see cref="SlabAllocator{T}"/> over the
/// source, whatever the arena's flags; types with references get new arrays that no other arena ever sees (never a
/// shared pool), so nothing kept past the source can read another owner's data.
/// </summary>
public sealed class SlabAllocatorFactory : AllocatorFactory
{
    /// <summary>
    /// The block size used when the arena's options name none: a quarter of a default 64 KiB slab, so blocks pack
    /// into slabs with little waste and a small request is not charged a large block against its quota.
    /// </summary>
    public const int DefaultBlockSizeBytes = 16 * 1024;

    private readonly IModuleAllocator _source;
    private readonly bool _sourceZeroesMemory;
    private readonly int _blockSizeBytes;

    /// <summary>
    /// Creates a factory over <paramref name="source"/> with <see cref="DefaultBlockSizeBytes"/> blocks. Blocks are
    /// cleared on hand-out unless <paramref name="source"/> is an <see cref="IArenaAllocator"/> (an arena, a request's arena)
    /// with <see cref="IArenaAllocator.ZeroMemory"/> on.
    /// </summary>
    /// <param name="source">Where blocks come from, and what releases them.</param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    public SlabAllocatorFactory(IModuleAllocator source)
        : this(source, source is IArenaAllocator { ZeroMemory: true }, DefaultBlockSizeBytes)
    {
    }

    /// <summary>Creates a factory over <paramref name="source"/>.</summary>
    /// <param name="source">Where blocks come from, and what releases them.</param>
    /// <param name="sourceZeroesMemory">True if every byte <paramref name="source"/> hands out already reads 0.</param>
    /// <param name="blockSizeBytes">
    /// The block size in bytes when the arena's options name none (1 KiB to 16 MiB); an arena's own
    /// <c>ArenaOptions.BlockSizeBytes</c> wins.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blockSizeBytes"/> is outside 1 KiB to 16 MiB.</exception>
    public SlabAllocatorFactory(IModuleAllocator source, bool sourceZeroesMemory, int blockSizeBytes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSizeBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockSizeBytes, 16 * 1024 * 1024);
        _source = source;
        _sourceZeroesMemory = sourceZeroesMemory;
        _blockSizeBytes = blockSizeBytes;
    }

    /// <summary>The allocator blocks are carved from.</summary>
    public IModuleAllocator Source => _source;

    /// <summary>The block size in bytes when the arena's options name none.</summary>
    public int BlockSizeBytes => _blockSizeBytes;

    /// <summary>Suggests the allocator for an element type: slab memory, or new arrays for types with references.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="options">The arena's options.</param>
    /// <returns>The allocator for <typeparamref name="T"/>.</returns>
    protected override Allocator<T> SuggestAllocator<T>(PipelinesArenaOptions options) =>
        RuntimeHelpers.IsReferenceOrContainsReferences<T>()
            ? FreshArrayAllocator<T>.Instance
            : new SlabAllocator<T>(_source, _sourceZeroesMemory);

    /// <summary>
    /// Suggests the allocator for a blittable element type: always slab memory, whatever the arena's flags prefer
    /// (pinned arrays from a shared pool or unmanaged memory would escape the source's lifetime).
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="options">The arena's options.</param>
    /// <returns>The allocator for <typeparamref name="T"/>.</returns>
    protected override Allocator<T> SuggestBlittableAllocator<T>(PipelinesArenaOptions options) => SuggestAllocator<T>(options);

    /// <summary>The block size: the arena's <c>ArenaOptions.BlockSizeBytes</c> if set, else <see cref="BlockSizeBytes"/>.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="options">The arena's options.</param>
    /// <returns>The block size in bytes.</returns>
    protected override int SuggestBlockSizeBytes<T>(PipelinesArenaOptions options) =>
        options is { BlockSizeBytes: > 0 } ? options.BlockSizeBytes : _blockSizeBytes;
}
