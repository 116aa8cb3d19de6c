namespace RequestArena.LoadTest.Soak;

/// <summary>
/// What each request writes and expects, derived from its id alone, so client and server agree without talking and
/// a byte from another request is recognisable wherever it shows up.
/// </summary>
internal static class SoakPayload
{
    /// <summary>The request's fill byte: never 0, so a zero check and a pattern check cannot both pass by accident.</summary>
    public static byte Pattern(long id) => (byte)((((ulong)id * 0x9E3779B97F4A7C15UL) >> 56) | 1);

    /// <summary>Bytes of a normal request's response body (itself an arena allocation).</summary>
    public static int ResponseLength(long id) => 1 + (int)(id % 3000);

    /// <summary>Bytes a normal upload sends.</summary>
    public static int UploadLength(long id) => 512 + (int)((id * 7919) % 40_000);

    /// <summary>A fixed body per length and pattern would do too; a fresh array keeps the client obviously correct.</summary>
    public static byte[] UploadBody(long id)
    {
        byte[] body = new byte[UploadLength(id)];
        body.AsSpan().Fill(Pattern(id));
        return body;
    }

    /// <summary>
    /// The size of the next allocation of a normal request: mostly small, some spanning most of a 16 KiB slab, a few
    /// larger than a slab (the oversize path).
    /// </summary>
    public static int NextSize(Random random, int slabSize)
    {
        int roll = random.Next(100);
        return roll switch
        {
            < 88 => random.Next(1, 4096),
            < 98 => random.Next(4096, slabSize),
            _ => random.Next(slabSize + 1, slabSize * 4),
        };
    }
}
