namespace RequestArena;

// One block from the provider. Arenas carve it; the pool keeps it between arenas.
internal sealed unsafe class Slab
{
    // SizeClass of an oversize block that is not pooled (larger than the pool keeps).
    public const int Unpooled = -1;

    // `length` is what the pool asked the provider for: a provider may hand out more (rounding to its granule), and the
    // arenas and the pool use only that much, so a quota's bound on held bytes is judged on what is used.
    public Slab(SlabBlock block, int sizeClass, int length)
    {
        Block = block;
        Address = (byte*)block.Address;
        Length = length;
        Array = block.Array;
        ArrayOffset = block.Offset;
        SizeClass = sizeClass;

        // Fresh provider memory may hold anything; an arena that zeroes clears it before first use.
        DirtyBytes = length;
    }

    public readonly SlabBlock Block;
    public readonly byte* Address;
    public readonly int Length;
    public readonly byte[]? Array;
    public readonly int ArrayOffset;
    public readonly int SizeClass;   // 0: a slab; k > 0: a pooled block of SlabSize << k; Unpooled

    // Length of the prefix that may hold non-zero bytes. Only touched while the slab is owned by one arena or
    // under the pool's lock, so it needs no synchronisation of its own.
    public int DirtyBytes;

    private SlabLease? _permanentLease;

    // For native slabs when an arena opted out of use-after-release checks: one manager that never dies.
    public SlabLease PermanentLease => _permanentLease ??= new SlabLease(this);

    public void Clear(int length)
    {
        if (length > 0)
        {
            new Span<byte>(Address, length).Clear();
        }
    }
}
