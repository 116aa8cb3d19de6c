using System.Runtime.CompilerServices;

namespace RequestArena;

/// <summary>
/// The default provider: arrays on the pinned object heap. Pinning is free (the GC never moves them) and the
/// GC reclaims a block once the pool drops it, so <see cref="Free"/> has nothing to do.
/// </summary>
public sealed class PinnedArraySlabProvider : ISlabProvider
{
    /// <summary>The process-wide instance.</summary>
    public static PinnedArraySlabProvider Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "pinned-array";

    /// <inheritdoc />
    /// <value>True: the GC keeps an array alive while any memory over it is still referenced.</value>
    public bool BlocksOutliveRelease => true;

    /// <inheritdoc />
    public unsafe SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block)
    {
        block = default;
        if (length <= 0 || alignment <= 0 || (alignment & (alignment - 1)) != 0 || (long)length + alignment > Array.MaxLength)
        {
            return SlabProviderStatus.InvalidParameter;
        }

        byte[] array;
        try
        {
            // The POH only promises pointer alignment, so over-allocate when a larger alignment is asked for.
            int slack = alignment > IntPtr.Size ? alignment - 1 : 0;
            array = GC.AllocateUninitializedArray<byte>(length + slack, pinned: true);
        }
        catch (OutOfMemoryException)
        {
            return SlabProviderStatus.Resources;
        }

        nint address = (nint)Unsafe.AsPointer(ref array[0]);
        int offset = (int)(((address + alignment - 1) & ~(nint)(alignment - 1)) - address);
        block = new SlabBlock(array, offset, length);
        return SlabProviderStatus.Success;
    }

    /// <inheritdoc />
    public void Free(in SlabBlock block)
    {
        // The GC owns the array; dropping the last reference frees it.
    }
}
