using System.Numerics;

namespace WebDemo;

internal static class AsciiUpper
{
    /// <summary>Uppercases a–z in place and leaves every other byte alone, so UTF-8 multi-byte sequences survive.</summary>
    /// <remarks><see cref="System.Text.Ascii.ToUpperInPlace(Span{byte}, out int)"/> stops at the first non-ASCII byte.</remarks>
    public static void InPlace(Span<byte> bytes)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && bytes.Length >= Vector<byte>.Count)
        {
            var a = new Vector<byte>((byte)'a');
            var letters = new Vector<byte>(26);
            var caseBit = new Vector<byte>(0x20);
            for (; i <= bytes.Length - Vector<byte>.Count; i += Vector<byte>.Count)
            {
                var v = new Vector<byte>(bytes[i..]);

                // Bytes are unsigned, so v - 'a' wraps for anything below 'a' and one compare finds a–z.
                Vector<byte> lower = Vector.LessThan(v - a, letters);
                (v ^ (lower & caseBit)).CopyTo(bytes[i..]);
            }
        }

        for (; i < bytes.Length; i++)
        {
            if ((uint)(bytes[i] - 'a') <= 'z' - 'a')
            {
                bytes[i] ^= 0x20;
            }
        }
    }
}
