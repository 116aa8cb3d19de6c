using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RequestArena;

// Builds Memory<byte> for the arena's fast path without the argument checks and owner-type branches of the public
// constructors: the arena already knows the region is in range and whether its owner is a lease or a pinned array.
// Memory<T> is (object, int index, int length), with the index's top bit marking a pre-pinned array, which is exactly
// what MemoryMarshal.CreateFromPinnedArray produces. That layout is private to the runtime, so it is verified once
// against the public constructors; on a runtime where it differs, the public constructors are used instead.
internal static class MemoryFactory
{
    // The index flag MemoryMarshal.CreateFromPinnedArray sets: Pin() then needs no GC handle.
    public const int PinnedArrayFlag = int.MinValue;

    public static readonly bool LayoutKnown = VerifyLayout();

    // owner is a MemoryManager<byte> (index without flags) or a pinned byte[] (index carrying PinnedArrayFlag).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Memory<byte> Create(object owner, int index, int length)
    {
        if (LayoutKnown)
        {
            return Unsafe.BitCast<Layout, Memory<byte>>(new Layout(owner, index, length));
        }

        return CreateChecked(owner, index, length);
    }

    // memory.Slice(start, length) for a range the caller knows lies inside memory: the same Memory<byte> without the
    // range checks, for any kind of owner (the index keeps its flag bits; slicing only adds to it).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Memory<byte> SliceInRange(in Memory<byte> memory, int start, int length)
    {
        if (LayoutKnown)
        {
            Layout layout = Unsafe.BitCast<Memory<byte>, Layout>(memory);
            return Unsafe.BitCast<Layout, Memory<byte>>(new Layout(layout.Owner, layout.Index + start, length));
        }

        return memory.Slice(start, length);
    }

    // The path for a runtime whose Memory<T> layout differs; internal so tests can run it on this one.
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static Memory<byte> CreateChecked(object owner, int index, int length) =>
        owner is SlabLease lease
            ? lease.Slice(index, length)
            : MemoryMarshal.CreateFromPinnedArray((byte[])owner, index & ~PinnedArrayFlag, length);

    private static bool VerifyLayout()
    {
        if (Unsafe.SizeOf<Layout>() != Unsafe.SizeOf<Memory<byte>>())
        {
            return false;
        }

        byte[] array = GC.AllocateArray<byte>(16, pinned: true);
        Memory<byte> expected = MemoryMarshal.CreateFromPinnedArray(array, 3, 5);
        Memory<byte> actual = Unsafe.BitCast<Layout, Memory<byte>>(new Layout(array, 3 | PinnedArrayFlag, 5));
        return actual.Equals(expected) && actual.Length == 5
            && MemoryMarshal.TryGetArray((ReadOnlyMemory<byte>)actual, out ArraySegment<byte> segment)
            && segment.Array == array && segment.Offset == 3 && segment.Count == 5;
    }

    private readonly struct Layout(object owner, int index, int length)
    {
        public readonly object Owner = owner;
        public readonly int Index = index;
        public readonly int Length = length;
    }
}
