using System.Runtime.InteropServices;
using System.Text;

namespace RequestArena.Adapters;

/// <summary>
/// A block from <see cref="BidiAllocator"/> (the pointer <c>RouterAllocBidiMem</c> returns): the memory plus the
/// handle that lets <see cref="BidiAllocator.Free"/> tell a live block from a freed, stale or foreign one.
/// <c>default</c> is the empty result of a failed allocation.
/// </summary>
/// <remarks>
/// Copies of a block are the same block: freeing one copy makes every copy stale. After
/// <see cref="BidiAllocator.Free"/> the memory may be handed out again within the request, so do not keep using it;
/// after the request ends touching it throws <see cref="ObjectDisposedException"/>.
/// </remarks>
public readonly struct BidiBlock : IEquatable<BidiBlock>
{
    internal readonly BidiAllocator? Owner;
    internal readonly int Slot;
    internal readonly ulong Stamp;
    private readonly Memory<byte> _memory;

    internal BidiBlock(BidiAllocator owner, int slot, ulong stamp, Memory<byte> memory)
    {
        Owner = owner;
        Slot = slot;
        Stamp = stamp;
        _memory = memory;
    }

    /// <summary>The block's bytes: exactly the size asked for (for strings, including the terminator).</summary>
    public Memory<byte> Memory => _memory;

    /// <summary>The block's bytes as a span.</summary>
    /// <exception cref="ObjectDisposedException">The block's request (arena) has ended.</exception>
    public Span<byte> Span => _memory.Span;

    /// <summary>The block's length in bytes.</summary>
    public int Length => _memory.Length;

    /// <summary>True for the empty result of a failed allocation (the NULL of <c>RouterAllocBidiMem</c>).</summary>
    public bool IsEmpty => Owner is null;

    /// <summary>Reads the block as a UTF-16 string, up to the first NUL character (or the whole block).</summary>
    /// <returns>The string; empty for an empty block.</returns>
    /// <exception cref="ObjectDisposedException">The block's request (arena) has ended.</exception>
    public string ReadUtf16String()
    {
        ReadOnlySpan<char> chars = MemoryMarshal.Cast<byte, char>(_memory.Span);
        int end = chars.IndexOf('\0');
        return new string(end < 0 ? chars : chars[..end]);
    }

    /// <summary>Reads the block as a UTF-8 string, up to the first NUL byte (or the whole block).</summary>
    /// <returns>The string; empty for an empty block.</returns>
    /// <exception cref="ObjectDisposedException">The block's request (arena) has ended.</exception>
    public string ReadUtf8String()
    {
        ReadOnlySpan<byte> bytes = _memory.Span;
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }

    /// <summary>True when both values are the same allocation of the same allocator.</summary>
    /// <param name="other">The other block.</param>
    /// <returns>Whether they are the same block.</returns>
    public bool Equals(BidiBlock other) => Owner == other.Owner && Slot == other.Slot && Stamp == other.Stamp;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is BidiBlock other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Owner, Slot, Stamp);

    /// <summary>True when both values are the same allocation of the same allocator.</summary>
    /// <param name="left">One block.</param>
    /// <param name="right">The other block.</param>
    /// <returns>Whether they are the same block.</returns>
    public static bool operator ==(BidiBlock left, BidiBlock right) => left.Equals(right);

    /// <summary>True when the values are different allocations.</summary>
    /// <param name="left">One block.</param>
    /// <param name="right">The other block.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(BidiBlock left, BidiBlock right) => !left.Equals(right);
}
