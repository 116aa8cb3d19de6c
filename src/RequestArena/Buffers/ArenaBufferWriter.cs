using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RequestArena;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> that writes straight into arena memory, so <c>Utf8JsonWriter</c>, pipe code and
/// encoders produce their output without renting or copying. Each buffer it hands out is contiguous; the written data
/// as a whole is a <see cref="ReadOnlySequence{T}"/> across the blocks taken, valid until the arena is reset.
/// </summary>
/// <remarks>
/// <para>Not thread-safe, like every buffer writer. Nothing is returned to the arena early: blocks go with it.</para>
/// <para>
/// The writer registers with its allocator for cleanup when it takes its first block (an <see cref="Arena"/> or a
/// request's allocator is an <see cref="ICleanupRegistry"/>), so the end of the arena cycle (<see cref="Arena.Reset"/>,
/// the end of the request) revokes it: from then on every call that would reach its blocks throws
/// <see cref="ObjectDisposedException"/> until <see cref="Clear"/> (only <see cref="WrittenCount"/>, a number, still
/// answers), and it never hands out room in, nor shows, a block whose memory may already serve someone else, with or
/// without <see cref="ArenaOptions.DetectUseAfterRelease"/>.
/// </para>
/// </remarks>
public sealed class ArenaBufferWriter : IBufferWriter<byte>
{
    private const int DefaultBlockSize = 4096;
    private const int MaxGrowBlockSize = 64 * 1024;

    private readonly IModuleAllocator _allocator;
    private readonly int _initialBlockSize;
    private Segment? _first;
    private Segment? _last;
    private Memory<byte> _current;   // the last block
    private int _currentWritten;     // bytes written to the last block
    private int _nextBlockSize;
    private long _written;
    private CycleRevocation? _revocation;   // the cycle of this writer's blocks; null before the first

    /// <summary>Creates a writer over <paramref name="allocator"/>.</summary>
    /// <param name="allocator">Where blocks come from (an <see cref="Arena"/> or a request's allocator).</param>
    /// <param name="initialBlockSize">The first block's size; later blocks double up to 64 KiB. Default 4 KiB.</param>
    public ArenaBufferWriter(IModuleAllocator allocator, int initialBlockSize = DefaultBlockSize)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        ArgumentOutOfRangeException.ThrowIfLessThan(initialBlockSize, 1);
        _allocator = allocator;
        _initialBlockSize = initialBlockSize;
        _nextBlockSize = initialBlockSize;
    }

    /// <summary>Bytes written so far.</summary>
    public long WrittenCount => _written;

    /// <summary>The written bytes, in order, across every block taken.</summary>
    /// <exception cref="ObjectDisposedException">The arena cycle the writer's blocks came from has ended.</exception>
    public ReadOnlySequence<byte> WrittenSequence
    {
        get
        {
            // Over unchecked memory the sequence would not fail by itself once the blocks serve someone else.
            ThrowIfRevoked();
            if (_first is null)
            {
                return ReadOnlySequence<byte>.Empty;
            }

            _last!.SetWritten(_current, _currentWritten);
            return _first == _last
                ? new ReadOnlySequence<byte>(_first.Memory)
                : new ReadOnlySequence<byte>(_first, 0, _last, _currentWritten);
        }
    }

    /// <summary>The written bytes when they fit in one block; otherwise a copy into one new arena block.</summary>
    /// <returns>The written bytes as one contiguous region of arena memory.</returns>
    public ReadOnlyMemory<byte> GetWrittenMemory()
    {
        ThrowIfRevoked();
        if (_first is null)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        if (_first == _last)
        {
            return _current[.._currentWritten];
        }

        Memory<byte> joined = _allocator.AllocateMemory(checked((int)_written));
        WrittenSequence.CopyTo(joined.Span);
        return joined;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or past the room left.</exception>
    /// <exception cref="ObjectDisposedException">The arena the block came from has been reset or released.</exception>
    public void Advance(int count)
    {
        if ((uint)count > (uint)(_current.Length - _currentWritten))
        {
            ThrowAdvance(count);
        }

        if (count != 0)
        {
            ThrowIfRevoked();
        }

        // Advancing touches no memory, so a writer kept past its arena's release (or a JSON writer over it flushing)
        // would count bytes into a dead block without a word; it fails as every other use of that memory does.
        if (count != 0 && MemoryMarshal.TryGetMemoryManager<byte, SlabLease>(_current, out SlabLease? lease) && lease.IsReleased)
        {
            ThrowHelper.ThrowMemoryReleased();
        }

        _currentWritten += count;
        _written += count;
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The arena cycle the writer's blocks came from has ended.</exception>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureRoom(sizeHint);
        return _current[_currentWritten..];
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The arena cycle the writer's blocks came from has ended.</exception>
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureRoom(sizeHint);
        return _current.Span[_currentWritten..];
    }

    /// <summary>
    /// Forgets what was written; the blocks already taken stay with the arena until it is reset. A writer revoked by the
    /// end of its arena cycle can be used again after this, in the allocator's next cycle.
    /// </summary>
    public void Clear()
    {
        // A live revocation still covers the next blocks (same cycle); a revoked one must not refuse them.
        if (_revocation is { IsRevoked: true })
        {
            _revocation = null;
        }

        _first = _last = null;
        _current = default;
        _currentWritten = 0;
        _written = 0;
        _nextBlockSize = _initialBlockSize;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureRoom(int sizeHint)
    {
        if (sizeHint < 0)
        {
            ThrowNegativeHint(sizeHint);
        }

        ThrowIfRevoked();

        int wanted = Math.Max(sizeHint, 1);
        if (_current.Length - _currentWritten < wanted)
        {
            AddBlock(wanted);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfRevoked()
    {
        if (_revocation is { IsRevoked: true })
        {
            ThrowHelper.ThrowMemoryReleased();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddBlock(int wanted)
    {
        // Registered before the block is taken: a cycle that ends after this takes the writer with it.
        CycleRevocation.ForCurrentCycle(_allocator, ref _revocation);

        int size = Math.Max(wanted, _nextBlockSize);
        // In 64 bits: a first block of 1 GiB or more would overflow when doubled.
        _nextBlockSize = (int)Math.Min(_nextBlockSize * 2L, Math.Max(MaxGrowBlockSize, _initialBlockSize));
        Memory<byte> block = _allocator.AllocateMemory(size);
        if (_last is not null)
        {
            _last.SetWritten(_current, _currentWritten);
        }

        var segment = new Segment(_last is null ? 0 : _last.RunningIndex + _currentWritten);
        if (_last is null)
        {
            _first = segment;
        }
        else
        {
            _last.SetNext(segment);
        }

        _last = segment;
        _current = block;
        _currentWritten = 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowAdvance(int count) =>
        throw new ArgumentOutOfRangeException(nameof(count), count, $"Cannot advance past the end of the buffer ({_current.Length - _currentWritten} bytes left).");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNegativeHint(int sizeHint) =>
        throw new ArgumentOutOfRangeException(nameof(sizeHint), sizeHint, "The size hint must not be negative.");

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(long runningIndex) => RunningIndex = runningIndex;

        public void SetWritten(Memory<byte> block, int written) => Memory = block[..written];

        public void SetNext(Segment next) => Next = next;
    }
}
