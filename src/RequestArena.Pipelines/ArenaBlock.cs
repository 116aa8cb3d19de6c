using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RequestArena.Pipelines;

// One Pipelines arena block carved from an IModuleAllocator. It reads its bytes through the Memory<byte> the source
// handed out, on every access, so a block whose source has been reset or released throws ObjectDisposedException
// (the source's own use-after-release check) instead of showing bytes that now belong to someone else.
//
// Not array-backed on purpose (TryGetArray stays false): the Pipelines arena would otherwise cache the raw array and
// bypass that check on its fast path.
internal sealed class ArenaBlock<T> : MemoryManager<T>
{
    private readonly Memory<byte> _bytes;
    private readonly int _length;
    private readonly CycleRevocation? _revocation;   // ends with the source's cycle; null for a source that has none
    private volatile bool _disposed;

    public ArenaBlock(Memory<byte> bytes, int length, CycleRevocation? revocation)
    {
        _bytes = bytes;
        _length = length;
        _revocation = revocation;
    }

    public override Span<T> GetSpan()
    {
        if (_disposed)
        {
            ThrowDisposed();
        }

        if (_revocation is { IsRevoked: true })
        {
            ThrowReleased();
        }

        Span<byte> bytes = _bytes.Span;
        return MemoryMarshal.CreateSpan(ref Unsafe.As<byte, T>(ref MemoryMarshal.GetReference(bytes)), _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if (_disposed)
        {
            ThrowDisposed();
        }

        if (_revocation is { IsRevoked: true })
        {
            ThrowReleased();
        }

        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);

        // The source's handle unpins itself; the bytes are pinned slab memory anyway.
        return _bytes[(elementIndex * Unsafe.SizeOf<T>())..].Pin();
    }

    public override void Unpin()
    {
    }

    // The bytes stay the source's: they go back when the source (the request's arena) is reset or released, never
    // block by block. Marking the block dead makes a Sequence kept past the Pipelines arena fail here first.
    protected override void Dispose(bool disposing) => _disposed = true;

    private static void ThrowReleased() =>
        throw new ObjectDisposedException(nameof(SlabAllocator<T>), "This block's memory belonged to an arena cycle (a request) that has ended; memory from it is valid only until then.");

    private static void ThrowDisposed() =>
        throw new ObjectDisposedException(nameof(SlabAllocator<T>), "This block belonged to a Pipelines arena that has been disposed or trimmed; memory from it is valid only until then.");
}
