using System.Runtime.InteropServices;

namespace RequestArena;

/// <summary>
/// Slabs from unmanaged memory (<see cref="NativeMemory.AlignedAlloc(nuint, nuint)"/>): outside the GC heap, never
/// moved, and returned to the operating system's allocator when the pool trims. Memory handed out over such slabs
/// is always backed by a <see cref="System.Buffers.MemoryManager{T}"/>.
/// </summary>
public sealed class NativeMemorySlabProvider : ISlabProvider
{
    private long _outstandingBytes;

    /// <summary>The process-wide instance.</summary>
    public static NativeMemorySlabProvider Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "native";

    /// <inheritdoc />
    /// <value>False: a freed block goes back to the native allocator at once.</value>
    public bool BlocksOutliveRelease => false;

    /// <summary>Bytes allocated by this provider and not yet freed.</summary>
    public long OutstandingBytes => Interlocked.Read(ref _outstandingBytes);

    /// <inheritdoc />
    public unsafe SlabProviderStatus Allocate(int length, int alignment, out SlabBlock block)
    {
        block = default;
        if (length <= 0 || alignment <= 0 || (alignment & (alignment - 1)) != 0)
        {
            return SlabProviderStatus.InvalidParameter;
        }

        void* pointer;
        try
        {
            pointer = NativeMemory.AlignedAlloc((nuint)length, (nuint)Math.Max(alignment, IntPtr.Size));
        }
        catch (OutOfMemoryException)
        {
            return SlabProviderStatus.Resources;
        }

        Interlocked.Add(ref _outstandingBytes, length);
        block = new SlabBlock((nint)pointer, length);
        return SlabProviderStatus.Success;
    }

    /// <inheritdoc />
    public unsafe void Free(in SlabBlock block)
    {
        if (block.IsEmpty)
        {
            return;
        }

        NativeMemory.AlignedFree((void*)block.Address);
        Interlocked.Add(ref _outstandingBytes, -block.Length);
    }
}
