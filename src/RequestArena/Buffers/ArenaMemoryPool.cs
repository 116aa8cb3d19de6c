using System.Buffers;

namespace RequestArena;

/// <summary>
/// A <see cref="MemoryPool{T}"/> view of an allocator, for APIs that take a pool (pipes, <c>PipeOptions.Pool</c>,
/// serializers). Rented buffers come from the arena; disposing an owner only stops that owner from handing out its
/// memory, since the arena reclaims everything at once when it is reset.
/// </summary>
public sealed class ArenaMemoryPool : MemoryPool<byte>
{
    private const int DefaultBufferSize = 4096;

    private readonly IModuleAllocator _allocator;

    /// <summary>Creates a pool view over <paramref name="allocator"/>.</summary>
    /// <param name="allocator">Where rented buffers come from.</param>
    public ArenaMemoryPool(IModuleAllocator allocator)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        _allocator = allocator;
    }

    /// <summary>The largest buffer a rent may ask for.</summary>
    public override int MaxBufferSize => Arena.MaxBlockSize;

    /// <summary>Rents at least <paramref name="minBufferSize"/> bytes (4 KiB when -1) from the arena.</summary>
    /// <param name="minBufferSize">The minimum size, or -1 for the default.</param>
    /// <returns>An owner of exactly the size asked for (or 4 KiB).</returns>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize < -1)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, "The size must be -1 (default) or not negative.");
        }

        return new Owner(_allocator.AllocateMemory(minBufferSize == -1 ? DefaultBufferSize : minBufferSize));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        // The arena owns the memory; there is nothing to let go of here.
    }

    private sealed class Owner(Memory<byte> memory) : IMemoryOwner<byte>
    {
        private Memory<byte> _memory = memory;
        private bool _disposed;

        public Memory<byte> Memory
        {
            get
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _memory;
            }
        }

        public void Dispose()
        {
            _disposed = true;
            _memory = default;
        }
    }
}
