using System.Numerics;
using System.Runtime.CompilerServices;

namespace RequestArena.Adapters;

// Size classes of the bidi allocator: multiples of 16 up to 64 bytes (so a 1-byte block takes 16 bytes and a 17-byte
// one 32), then four classes per power of two (as jemalloc does), so a block above 64 bytes wastes less than a fifth of
// its size; a freed block is found again by anyone asking for a size in the same class.
internal static class BidiSizeClass
{
    public const int MaxSize = 1 << 30;

    // Index of MaxSize plus one.
    public const int Count = 100;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOf(int size)
    {
        // Callers guarantee 1 <= size <= MaxSize.
        if (size <= 64)
        {
            return (size - 1) >> 4;
        }

        int exponent = BitOperations.Log2((uint)(size - 1));
        int step = ((size - 1) >> (exponent - 2)) & 3;
        return 4 + ((exponent - 6) << 2) + step;
    }

    public static int SizeOf(int index)
    {
        if (index < 4)
        {
            return (index + 1) << 4;
        }

        int exponent = ((index - 4) >> 2) + 6;
        int step = (index - 4) & 3;
        return (1 << exponent) + ((step + 1) << (exponent - 2));
    }
}
