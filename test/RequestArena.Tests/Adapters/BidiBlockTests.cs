using RequestArena;
using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class BidiBlockTests : IDisposable
{
    private readonly Arena _arena = new();

    public void Dispose() => _arena.Dispose();

    [Fact]
    public void Default_IsEmpty()
    {
        BidiBlock block = default;

        Assert.True(block.IsEmpty);
        Assert.Equal(0, block.Length);
        Assert.Equal(string.Empty, block.ReadUtf16String());
        Assert.Equal(string.Empty, block.ReadUtf8String());
    }

    [Fact]
    public void Copies_AreEqual_AndDistinctAllocationsAreNot()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock a = bidi.Allocate(16);
        BidiBlock copy = a;
        BidiBlock b = bidi.Allocate(16);

        Assert.True(a == copy);
        Assert.Equal(a.GetHashCode(), copy.GetHashCode());
        Assert.True(a != b);
        Assert.False(a.Equals((object)b));
    }

    [Fact]
    public void Reuse_GivesANewIdentity()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock first = bidi.Allocate(16);
        bidi.Free(first);

        BidiBlock second = bidi.Allocate(16);

        Assert.NotEqual(first, second);
    }

    [Fact]
    public void ReadUtf16String_WithoutTerminator_ReadsWholeBlock()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock block = bidi.Allocate(6);
        "xyz".AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, char>(block.Span));

        Assert.Equal("xyz", block.ReadUtf16String());
    }

    [Fact]
    public void ReadUtf8String_StopsAtFirstNul()
    {
        var bidi = new BidiAllocator(_arena);
        BidiBlock block = bidi.AllocateBlob("ab\0cd"u8);

        Assert.Equal("ab", block.ReadUtf8String());
    }
}
