namespace RequestArena.Adapters;

/// <summary>
/// A block of shared memory from an <see cref="ISharedMemoryProvider"/> (the <c>SharedMemoryProviderContext</c> an
/// <c>ALLOCATE_SHARED_MEMORY_HANDLER</c> returns): where it is mapped in this process, and the name and offset under
/// which another process can map the same bytes.
/// </summary>
public sealed unsafe class SharedMemoryHandle
{
    private int _freed;

    /// <summary>Describes a block; called by providers.</summary>
    /// <param name="name">The name another process opens the mapping by.</param>
    /// <param name="address">The block's first byte in this process; it must stay valid until the block is freed.</param>
    /// <param name="length">The block's length in bytes.</param>
    /// <param name="offset">Where <paramref name="address"/> lies within the named mapping.</param>
    /// <param name="providerState">Whatever the provider needs to free the block.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or <paramref name="address"/> is zero.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="length"/> or <paramref name="offset"/> is negative, or the block would run past the end of the
    /// address space.
    /// </exception>
    public SharedMemoryHandle(string name, nint address, int length, long offset = 0, object? providerState = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (address == 0)
        {
            throw new ArgumentException("The address must not be zero.", nameof(address));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if ((nuint)length > nuint.MaxValue - (nuint)address)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"A block of {length} bytes at 0x{address:X} would run past the end of the address space.");
        }

        Name = name;
        Address = address;
        Length = length;
        Offset = offset;
        ProviderState = providerState;
    }

    /// <summary>The name another process maps the block by (see <see cref="MemoryMappedSharedMemoryProvider.OpenExisting"/>).</summary>
    public string Name { get; }

    /// <summary>The block's first byte in this process.</summary>
    public nint Address { get; }

    /// <summary>The block's length in bytes.</summary>
    public int Length { get; }

    /// <summary>Where the block starts within the named mapping (non-zero when an alignment needed padding).</summary>
    public long Offset { get; }

    /// <summary>The provider's own state for the block.</summary>
    public object? ProviderState { get; }

    /// <summary>True once the block has been freed (or <see cref="TryMarkFreed"/> called).</summary>
    public bool IsFreed => Volatile.Read(ref _freed) != 0;

    /// <summary>The block's bytes. Valid until the block is freed; do not keep the span past that.</summary>
    /// <returns>A span over the whole block.</returns>
    /// <exception cref="ObjectDisposedException">The block has been freed.</exception>
    public Span<byte> GetSpan()
    {
        if (IsFreed)
        {
            throw new ObjectDisposedException(nameof(SharedMemoryHandle), $"The shared memory block '{Name}' has been freed.");
        }

        return new Span<byte>((void*)Address, Length);
    }

    /// <summary>
    /// Marks the block freed, once, so that <see cref="GetSpan"/> refuses it from then on. A provider may also use it
    /// to let only the first of two frees proceed, but anyone holding the handle can call it:
    /// <see cref="MemoryMappedSharedMemoryProvider"/> keeps its own freed state and does not rely on this one.
    /// </summary>
    /// <returns>True for the first call, false for every later one.</returns>
    public bool TryMarkFreed() => Interlocked.Exchange(ref _freed, 1) == 0;
}
