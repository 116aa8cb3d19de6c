using System.Buffers;
using System.Runtime.InteropServices;

namespace RequestArena.Tests;

public class MemoryFactoryTests
{
    [Fact]
    public void LayoutKnown_OnThisRuntime_IsTrue()
    {
        // Without it the arena still works, through the public constructors, but slower: a runtime that changed
        // Memory<T>'s layout must show up here rather than as a silent slowdown.
        Assert.True(MemoryFactory.LayoutKnown);
    }

    [Fact]
    public void Create_PinnedArray_EqualsCreateFromPinnedArray()
    {
        byte[] array = GC.AllocateArray<byte>(64, pinned: true);

        Memory<byte> memory = MemoryFactory.Create(array, 10 | MemoryFactory.PinnedArrayFlag, 20);

        Assert.True(memory.Equals(MemoryMarshal.CreateFromPinnedArray(array, 10, 20)));
        Assert.True(MemoryMarshal.TryGetArray<byte>(memory, out ArraySegment<byte> segment));
        Assert.Same(array, segment.Array);
        Assert.Equal(10, segment.Offset);
        Assert.Equal(20, segment.Count);
        memory.Span.Fill(7);
        Assert.Equal(20, array.Count(b => b == 7));
        Assert.Equal(0, array[9]);
        Assert.Equal(0, array[30]);
    }

    [Fact]
    public void Create_MemoryManager_EqualsManagerSlice()
    {
        using var manager = new ArrayManager(new byte[64]);

        Memory<byte> memory = MemoryFactory.Create(manager, 5, 11);

        Assert.True(memory.Equals(manager.Memory.Slice(5, 11)));
        Assert.True(MemoryMarshal.TryGetMemoryManager<byte, ArrayManager>(memory, out ArrayManager? found, out int start, out int length));
        Assert.Same(manager, found);
        Assert.Equal(5, start);
        Assert.Equal(11, length);
    }

    [Fact]
    public void CreateChecked_PinnedArray_EqualsTheFastPath()
    {
        byte[] array = GC.AllocateArray<byte>(64, pinned: true);

        Memory<byte> memory = MemoryFactory.CreateChecked(array, 10 | MemoryFactory.PinnedArrayFlag, 20);

        Assert.True(memory.Equals(MemoryFactory.Create(array, 10 | MemoryFactory.PinnedArrayFlag, 20)));
    }

    [Fact]
    public void CreateChecked_ReleasedLease_ThrowsObjectDisposedOnSpan()
    {
        using var pool = TestPools.Create();
        using var arena = new Arena(pool);
        Memory<byte> fromArena = arena.AllocateMemory(16);
        Assert.True(MemoryMarshal.TryGetMemoryManager<byte, MemoryManager<byte>>(fromArena, out MemoryManager<byte>? lease));

        Memory<byte> memory = MemoryFactory.CreateChecked(lease!, 4, 8);
        Assert.True(memory.Equals(MemoryFactory.Create(lease!, 4, 8)));
        Assert.Equal(8, memory.Span.Length);

        arena.Reset();
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
    }

    [Fact]
    public void SliceInRange_EqualsSlice()
    {
        Memory<byte> memory = new byte[100].AsMemory(7, 50);

        Assert.True(MemoryFactory.SliceInRange(memory, 5, 20).Equals(memory.Slice(5, 20)));
    }

    [Fact]
    public unsafe void UncheckedArenaMemory_IsAPrePinnedSliceOfTheSlab()
    {
        using var arena = new Arena(TestPools.Create(), new ArenaOptions { DetectUseAfterRelease = false });
        arena.AllocateMemory(24);

        Memory<byte> memory = arena.AllocateMemory(100);

        Assert.True(MemoryMarshal.TryGetArray<byte>(memory, out ArraySegment<byte> segment));
        using MemoryHandle handle = memory.Pin();
        fixed (byte* first = &segment.Array![segment.Offset])
        {
            Assert.Equal((nint)first, (nint)handle.Pointer);
        }
    }

    private sealed class ArrayManager(byte[] array) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => array;

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
