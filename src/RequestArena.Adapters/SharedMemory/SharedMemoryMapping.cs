using System.IO.MemoryMappedFiles;

namespace RequestArena.Adapters;

/// <summary>
/// A view of a shared memory block mapped by name from any process, as opened by
/// <see cref="MemoryMappedSharedMemoryProvider.OpenExisting"/>. Reads and writes go straight to the shared bytes.
/// </summary>
public sealed unsafe class SharedMemoryMapping : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _pointer;

    internal SharedMemoryMapping(string name, MemoryMappedFile file, long length)
    {
        _file = file;
        try
        {
            _view = file.CreateViewAccessor(0, length < 0 ? 0 : length, MemoryMappedFileAccess.ReadWrite);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _pointer = pointer + _view.PointerOffset;
        }
        catch
        {
            _view?.Dispose();
            file.Dispose();
            throw;
        }

        Name = name;
        Length = length < 0 ? (long)_view.SafeMemoryMappedViewHandle.ByteLength - _view.PointerOffset : length;
    }

    /// <summary>The block's name.</summary>
    public string Name { get; }

    /// <summary>The mapped length in bytes (on Windows, rounded up to whole pages).</summary>
    public long Length { get; }

    /// <summary>The bytes at <paramref name="offset"/>; valid until the mapping is disposed.</summary>
    /// <param name="offset">Where to start within the mapping.</param>
    /// <param name="length">How many bytes.</param>
    /// <returns>A span over the shared bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range lies outside the mapping.</exception>
    /// <exception cref="ObjectDisposedException">The mapping has been disposed.</exception>
    public Span<byte> GetSpan(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_pointer is null, this);
        // Offset and length may come from another process: compare without adding them, so no value can wrap past
        // the check.
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"The range of {length} bytes at offset {offset} lies outside the mapping of {Length} bytes.");
        }

        return new Span<byte>(_pointer + offset, length);
    }

    /// <summary>Unmaps the view. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (_pointer is null)
        {
            return;
        }

        _pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
