using System.Runtime.InteropServices;

namespace RequestArena;

// The natural alignment of T: the offset of a T placed right after one byte.
internal static class AlignOf<T> where T : unmanaged
{
    public static readonly int Value = Compute();

    private static unsafe int Compute()
    {
        Pad pad = default;
        return (int)((byte*)&pad.Value - (byte*)&pad);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Pad
    {
        public byte Before;
        public T Value;
    }
}
