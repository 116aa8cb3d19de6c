using System.Buffers;
using RequestArena;

namespace WebDemo;

/// <summary>
/// Hands out a request's temporary buffers from the source its <see cref="AllocMode"/> names. Everything else the
/// endpoints do is the same code for every mode, so what a load test measures between modes is the buffer source.
/// </summary>
/// <remarks>
/// Instances are reusable (<see cref="Begin"/> .. <see cref="End"/>) so an endpoint that does not await while it
/// holds buffers can keep one per thread: the measurements should show what the buffers cost, not this object.
/// </remarks>
internal sealed class ScratchBuffers
{
    private AllocMode _mode;
    private IModuleAllocator? _arena;
    private byte[][] _rented = new byte[8][];
    private int _rentedCount;

    public AllocMode Mode => _mode;

    /// <summary>Bytes asked for since <see cref="Begin"/>.</summary>
    public long BytesRequested { get; private set; }

    public void Begin(AllocMode mode, IModuleAllocator? arena)
    {
        _mode = mode;
        _arena = mode == AllocMode.Arena ? arena ?? throw new ArgumentNullException(nameof(arena)) : null;
        BytesRequested = 0;
    }

    public Memory<byte> Get(int size)
    {
        BytesRequested += size;
        switch (_mode)
        {
            case AllocMode.Arena:
                return _arena!.AllocateMemory(size);
            case AllocMode.Pool:
                byte[] array = ArrayPool<byte>.Shared.Rent(size);
                if (_rentedCount == _rented.Length)
                {
                    Array.Resize(ref _rented, _rented.Length * 2);
                }

                _rented[_rentedCount++] = array;
                return array.AsMemory(0, size);
            default:
                return new byte[size];
        }
    }

    /// <summary>Gives pooled arrays back and forgets the arena; the instance can then be begun again.</summary>
    public void End()
    {
        for (int i = 0; i < _rentedCount; i++)
        {
            ArrayPool<byte>.Shared.Return(_rented[i]);
            _rented[i] = null!;
        }

        _rentedCount = 0;
        _arena = null;
    }
}
