namespace RequestArena;

/// <summary>
/// A block of pinned memory produced by an <see cref="ISlabProvider"/>: its address never changes until the
/// provider frees it. Managed providers also give the backing array, so memory can be handed out array-backed.
/// </summary>
public readonly struct SlabBlock
{
    /// <summary>Describes a block inside a pinned managed array.</summary>
    /// <param name="array">A pinned array (pinned object heap); it must not move while the block lives.</param>
    /// <param name="offset">Where the block starts in <paramref name="array"/>.</param>
    /// <param name="length">The block's length in bytes.</param>
    /// <param name="handle">Provider state needed to free the block, or null.</param>
    public unsafe SlabBlock(byte[] array, int offset, int length, object? handle = null)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, array.Length - offset);
        Array = array;
        Offset = offset;
        Length = length;
        Handle = handle;
        // Not array[0]: an empty array has no first element, and its block is still a valid (empty) one.
        Address = (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(array)) + offset;
    }

    /// <summary>Describes a block of unmanaged memory.</summary>
    /// <param name="address">The block's first byte; it must stay valid until the provider frees it.</param>
    /// <param name="length">The block's length in bytes.</param>
    /// <param name="handle">Provider state needed to free the block, or null.</param>
    /// <exception cref="ArgumentException"><paramref name="address"/> is zero.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="length"/> is negative, or the block would run past the end of the address space.
    /// </exception>
    public SlabBlock(nint address, int length, object? handle = null)
    {
        if (address == 0)
        {
            throw new ArgumentException("The address must not be zero.", nameof(address));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if ((nuint)length > nuint.MaxValue - (nuint)address)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"A block of {length} bytes at 0x{address:X} would run past the end of the address space.");
        }

        Address = address;
        Length = length;
        Handle = handle;
    }

    /// <summary>The backing array for managed blocks; null for unmanaged memory.</summary>
    public byte[]? Array { get; }

    /// <summary>The block's offset in <see cref="Array"/>; 0 for unmanaged memory.</summary>
    public int Offset { get; }

    /// <summary>The address of the block's first byte.</summary>
    public nint Address { get; }

    /// <summary>The block's length in bytes.</summary>
    public int Length { get; }

    /// <summary>Provider state handed back to <see cref="ISlabProvider.Free"/>.</summary>
    public object? Handle { get; }

    /// <summary>True for a default (empty) value.</summary>
    public bool IsEmpty => Address == 0;
}
