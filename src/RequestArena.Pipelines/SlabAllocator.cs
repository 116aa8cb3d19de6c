using System.Buffers;
using System.Runtime.CompilerServices;
using Pipelines.Sockets.Unofficial.Arenas;

namespace RequestArena.Pipelines;

/// <summary>
/// A Pipelines.Sockets.Unofficial <see cref="Allocator{T}"/> whose blocks are carved from an
/// <see cref="IModuleAllocator"/>: a RequestArena <see cref="RequestArena.Arena"/> over a <see cref="SlabPool"/>, or
/// the current request's allocator. Blocks are never returned one by one; they go back to the slab pool when the
/// source is reset or released, and from then on reading them throws <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>
/// Every block reads as zeros when it is handed out: the source zeroes it, or this allocator clears it when the source
/// does not promise to. Only element types without references can live in slab memory. Over a source that is an
/// <see cref="ICleanupRegistry"/> (an arena, a request's allocator) blocks are revoked when its cycle ends, so they
/// refuse with <see cref="ObjectDisposedException"/> even over memory whose use-after-release check is off.
/// </remarks>
/// <typeparam name="T">The element type; it must not be or contain a reference.</typeparam>
public sealed class SlabAllocator<T> : Allocator<T>
{
    private readonly IModuleAllocator _source;
    private readonly bool _clear;

    // The current cycle's revocation, registered with a source that is an ICleanupRegistry: every block carved in the
    // cycle holds it and refuses once the cycle has ended, so a block over unchecked memory (DetectUseAfterRelease off,
    // which cannot fail by itself) never reads or clears bytes that serve someone else by then.
    private CycleRevocation? _revocation;

    /// <summary>
    /// Creates an allocator over <paramref name="source"/>. Blocks are cleared on hand-out unless
    /// <paramref name="source"/> is an <see cref="IArenaAllocator"/> (an arena, a request's arena) with
    /// <see cref="IArenaAllocator.ZeroMemory"/> on.
    /// </summary>
    /// <param name="source">Where blocks come from, and what releases them.</param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is or contains a reference.</exception>
    public SlabAllocator(IModuleAllocator source)
        : this(source, source is IArenaAllocator { ZeroMemory: true })
    {
    }

    /// <summary>Creates an allocator over <paramref name="source"/>.</summary>
    /// <param name="source">Where blocks come from, and what releases them.</param>
    /// <param name="sourceZeroesMemory">
    /// True if every byte <paramref name="source"/> hands out already reads 0 (a RequestArena arena or request with
    /// zeroing on); false makes this allocator clear each block itself.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is or contains a reference.</exception>
    public SlabAllocator(IModuleAllocator source, bool sourceZeroesMemory)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            throw new NotSupportedException(
                $"{typeof(T)} is or contains a reference, and slab memory can only hold unmanaged data. Use SlabAllocatorFactory, which gives such types blocks of their own.");
        }

        _source = source;
        _clear = !sourceZeroesMemory;
    }

    /// <summary>The allocator blocks are carved from.</summary>
    public IModuleAllocator Source => _source;

    /// <summary>
    /// Carves a block of <paramref name="length"/> elements from <see cref="Source"/>; it reads as zeros.
    /// </summary>
    /// <param name="length">The number of elements.</param>
    /// <returns>The block. Disposing it gives nothing back: the memory returns with the source.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="length"/> is negative, or the block would exceed <see cref="int.MaxValue"/> bytes.
    /// </exception>
    /// <exception cref="ArenaLimitExceededException">The block would exceed the source's quota.</exception>
    /// <exception cref="ObjectDisposedException">The source has been released (its request has ended).</exception>
    public override IMemoryOwner<T> Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int size = Unsafe.SizeOf<T>();
        if (length > int.MaxValue / size)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"{length} elements of {size} bytes exceed the largest block ({int.MaxValue} bytes).");
        }

        // Registered before the block is carved: a cycle that ends after this revokes the block.
        CycleRevocation? revocation = CycleRevocation.ForCurrentCycle(_source, ref _revocation);
        Memory<byte> bytes = _source.AllocateMemory(length * size);
        if (_clear)
        {
            bytes.Span.Clear();
        }

        return new ArenaBlock<T>(bytes, length, revocation);
    }
}
