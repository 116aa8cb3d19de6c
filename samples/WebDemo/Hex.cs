namespace WebDemo;

internal static class Hex
{
    // Convert.ToHexStringLower allocates a string; the demo keeps its hot paths free of managed allocations.
    public static void Lower(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        ReadOnlySpan<byte> digits = "0123456789abcdef"u8;
        for (int i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = digits[bytes[i] >> 4];
            destination[2 * i + 1] = digits[bytes[i] & 0xF];
        }
    }
}
