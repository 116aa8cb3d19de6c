using System.Buffers;
using RequestArena;

namespace WebDemo;

/// <summary>
/// The <see cref="AllocMode.Pool"/> buffer source: arrays rented from <see cref="ArrayPool{T}.Shared"/> and held,
/// like the arena's memory, until the request ends; then the request's DI scope disposes this service, which
/// returns every one of them. That is what code holding pooled buffers for a whole request has to do.
/// </summary>
/// <remarks>
/// Registered scoped and used by one request at a time, so it is not thread-safe. Memory is not cleared (pool users
/// usually leave it as rented); every endpoint overwrites what it asks for.
/// </remarks>
internal sealed class ArrayPoolAllocator : IModuleAllocator, IDisposable
{
    private byte[][] _rented = [];
    private int _count;
    private bool _disposed;

    /// <summary>Arrays rented and not yet returned.</summary>
    public int RentedCount => _count;

    public Memory<byte> AllocateMemory(int cbAllocation)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cbAllocation);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cbAllocation == 0)
        {
            return Memory<byte>.Empty;
        }

        if (_count == _rented.Length)
        {
            Grow();
        }

        byte[] array = ArrayPool<byte>.Shared.Rent(cbAllocation);
        _rented[_count++] = array;
        return array.AsMemory(0, cbAllocation);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        for (int i = 0; i < _count; i++)
        {
            ArrayPool<byte>.Shared.Return(_rented[i]);
        }

        _count = 0;
        if (_rented.Length > 0)
        {
            ArrayPool<byte[]>.Shared.Return(_rented, clearArray: true);
            _rented = [];
        }
    }

    // The list of rented arrays is itself pooled, so holding many buffers does not add a growing list to the GC's work.
    private void Grow()
    {
        byte[][] larger = ArrayPool<byte[]>.Shared.Rent(Math.Max(16, _rented.Length * 2));
        _rented.AsSpan(0, _count).CopyTo(larger);
        if (_rented.Length > 0)
        {
            ArrayPool<byte[]>.Shared.Return(_rented, clearArray: true);
        }

        _rented = larger;
    }
}
