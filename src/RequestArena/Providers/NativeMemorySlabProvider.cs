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
        block = new SlabBlock((nint)pointer, length, new NativeBlock(this, (nint)pointer, length));
        return SlabProviderStatus.Success;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// The block was not allocated by this provider, does not describe the block it allocated, or has been freed
    /// already. Nothing is freed.
    /// </exception>
    public unsafe void Free(in SlabBlock block)
    {
        if (block.IsEmpty)
        {
            return;
        }

        // An address alone cannot tell a live block from a freed one or from another provider's, and free() of either
        // aborts the process or releases memory someone else holds: only this provider's own token frees, once.
        if (block.Handle is not NativeBlock native || native.Provider != this || native.Address != block.Address || native.Length != block.Length)
        {
            throw new ArgumentException("The block was not allocated by this provider.", nameof(block));
        }

        if (!native.TryMarkFreed())
        {
            throw new ArgumentException("The block has been freed already.", nameof(block));
        }

        NativeMemory.AlignedFree((void*)native.Address);
        Interlocked.Add(ref _outstandingBytes, -native.Length);
    }

    // The identity of one allocated block, which SlabBlock carries back to Free.
    private sealed class NativeBlock(NativeMemorySlabProvider provider, nint address, int length)
    {
        private int _freed;

        public NativeMemorySlabProvider Provider { get; } = provider;

        public nint Address { get; } = address;

        public int Length { get; } = length;

        public bool TryMarkFreed() => Interlocked.Exchange(ref _freed, 1) == 0;
    }
}
