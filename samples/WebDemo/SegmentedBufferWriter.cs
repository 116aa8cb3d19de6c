using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;

namespace WebDemo;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over a chain of segments from <see cref="ScratchBuffers"/>.
/// </summary>
/// <remarks>
/// Segments rather than one doubling buffer: nothing is copied as the output grows, and no segment is larger than
/// <see cref="MaxSegmentSize"/>, which keeps arena allocations inside one slab (64 KiB by default) and fresh arrays
/// off the large object heap, so each mode is measured on its ordinary path.
/// </remarks>
internal sealed class SegmentedBufferWriter : IBufferWriter<byte>
{
    public const int MaxSegmentSize = 32 * 1024;
    private const int MinSegmentSize = 512;

    private ScratchBuffers? _scratch;
    private Memory<byte>[] _segments = new Memory<byte>[8];
    private int[] _written = new int[8];
    private int _count;
    private int _nextSize;

    public long WrittenCount { get; private set; }

    /// <summary>The position the next written byte will have: (segment, offset in segment).</summary>
    public (int Segment, int Offset) Position => _count == 0 ? (0, 0) : (_count - 1, _written[_count - 1]);

    public void Reset(ScratchBuffers scratch, int expectedSize)
    {
        Clear();
        _scratch = scratch;
        _nextSize = Math.Clamp(expectedSize, MinSegmentSize, MaxSegmentSize);
    }

    public void Clear()
    {
        Array.Clear(_segments, 0, _count);
        _count = 0;
        WrittenCount = 0;
        _scratch = null;
    }

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_count == 0 || _written[_count - 1] + count > _segments[_count - 1].Length)
        {
            throw new InvalidOperationException("Advanced past the memory handed out.");
        }

        _written[_count - 1] += count;
        WrittenCount += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_count > 0)
        {
            int free = _segments[_count - 1].Length - _written[_count - 1];
            if (free >= sizeHint)
            {
                return _segments[_count - 1][_written[_count - 1]..];
            }
        }

        AddSegment(Math.Max(sizeHint, _nextSize));
        _nextSize = Math.Min(_nextSize * 2, MaxSegmentSize);
        return _segments[_count - 1];
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <summary>Hashes the bytes written between two <see cref="Position"/>s.</summary>
    public void AppendRange(IncrementalHash hash, (int Segment, int Offset) from, (int Segment, int Offset) to)
    {
        for (int s = from.Segment; s <= to.Segment && s < _count; s++)
        {
            int start = s == from.Segment ? from.Offset : 0;
            int end = s == to.Segment ? to.Offset : _written[s];
            hash.AppendData(_segments[s].Span[start..end]);
        }
    }

    /// <summary>Copies everything written into <paramref name="output"/> without flushing it.</summary>
    public void CopyTo(PipeWriter output)
    {
        for (int s = 0; s < _count; s++)
        {
            output.Write(_segments[s].Span[.._written[s]]);
        }
    }

    /// <summary>Copies everything written into one array (tests and small outputs).</summary>
    public byte[] ToArray()
    {
        var result = new byte[WrittenCount];
        int at = 0;
        for (int s = 0; s < _count; s++)
        {
            _segments[s].Span[.._written[s]].CopyTo(result.AsSpan(at));
            at += _written[s];
        }

        return result;
    }

    private void AddSegment(int size)
    {
        if (_scratch is null)
        {
            throw new InvalidOperationException("Reset the writer with a ScratchBuffers before writing.");
        }

        if (_count == _segments.Length)
        {
            Array.Resize(ref _segments, _count * 2);
            Array.Resize(ref _written, _count * 2);
        }

        _segments[_count] = _scratch.Get(size);
        _written[_count] = 0;
        _count++;
    }
}
