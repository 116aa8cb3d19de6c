using System.Runtime.InteropServices;
using Pipelines.Sockets.Unofficial.Arenas;
using PipelinesArena = Pipelines.Sockets.Unofficial.Arenas.Arena;
using PipelinesArenaOptions = Pipelines.Sockets.Unofficial.Arenas.ArenaOptions;

namespace RequestArena.Pipelines.Tests;

public sealed class SlabAllocatorFactoryTests
{
    [Theory]
    [InlineData(ArenaFlags.None)]
    [InlineData(ArenaFlags.BlittableNonPaddedSharing)]
    [InlineData(ArenaFlags.BlittablePaddedSharing)]
    [InlineData(ArenaFlags.PreferUnmanaged)]
    [InlineData(ArenaFlags.PreferPinned | ArenaFlags.ClearAtReset)]
    public void Allocate_UnmanagedTypes_BlocksComeFromSourceWhateverTheFlags(ArenaFlags flags)
    {
        using var source = new Arena(new SlabPool());
        using var arena = new PipelinesArena(new PipelinesArenaOptions(flags), new SlabAllocatorFactory(source));

        Sequence<int> ints = arena.Allocate<int>(100);
        Sequence<long> longs = arena.Allocate<long>(100);
        Sequence<byte> bytes = arena.Allocate<byte>(100);

        Assert.True(source.AllocatedBytes >= SlabAllocatorFactory.DefaultBlockSizeBytes);
        Assert.All(ints.ToArray(), value => Assert.Equal(0, value));
        Assert.All(longs.ToArray(), value => Assert.Equal(0, value));
        Assert.All(bytes.ToArray(), value => Assert.Equal(0, value));

        // Releasing the source kills every sequence, which proves none of them lives outside it.
        source.Reset();
        Assert.Throws<ObjectDisposedException>(() => ints.ToArray());
        Assert.Throws<ObjectDisposedException>(() => longs.ToArray());
        Assert.Throws<ObjectDisposedException>(() => bytes.ToArray());
    }

    [Fact]
    public void Allocate_TypesWithReferences_GetFreshArraysNotPooledOnes()
    {
        using var source = new Arena(new SlabPool());
        using var first = new PipelinesArena(factory: new SlabAllocatorFactory(source));
        using var second = new PipelinesArena(factory: new SlabAllocatorFactory(source));

        Sequence<string> a = first.Allocate<string>(10);
        a[0] = "secret";
        first.Dispose();
        Sequence<string> b = second.Allocate<string>(10);

        Assert.Equal(0, source.AllocatedBytes);
        Assert.True(a.TryGetArray(out ArraySegment<string> arrayA));
        Assert.True(b.TryGetArray(out ArraySegment<string> arrayB));
        Assert.NotSame(arrayA.Array, arrayB.Array);
        Assert.All(b.ToArray(), Assert.Null);
    }

    [Fact]
    public void Allocate_ArenaOptionsBlockSize_WinsOverFactoryDefault()
    {
        using var source = new Arena(new SlabPool());
        using var arena = new PipelinesArena(new PipelinesArenaOptions(blockSizeBytes: 2048), new SlabAllocatorFactory(source, sourceZeroesMemory: true, blockSizeBytes: 8192));
        using var other = new PipelinesArena(factory: new SlabAllocatorFactory(source, sourceZeroesMemory: true, blockSizeBytes: 8192));

        arena.Allocate<int>(1);
        Assert.Equal(2048, source.AllocatedBytes);
        other.Allocate<int>(1);
        Assert.Equal(2048 + 8192, source.AllocatedBytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1023)]
    [InlineData(-1)]
    [InlineData(16 * 1024 * 1024 + 1)]
    public void Ctor_BlockSizeOutOfRange_Throws(int blockSizeBytes)
    {
        using var source = new Arena(new SlabPool());

        Assert.Throws<ArgumentOutOfRangeException>(() => new SlabAllocatorFactory(source, true, blockSizeBytes));
    }

    [Fact]
    public void Ctor_NullSource_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new SlabAllocatorFactory(null!));
    }

    [Fact]
    public void Allocate_SourceWithoutZeroing_SequencesStillReadZeros()
    {
        using var pool = new SlabPool();
        using var source = new Arena(pool, new ArenaOptions { ZeroMemory = false });
        var factory = new SlabAllocatorFactory(source);
        Assert.Equal(SlabAllocatorFactory.DefaultBlockSizeBytes, factory.BlockSizeBytes);
        Assert.Same(source, factory.Source);

        for (int round = 0; round < 4; round++)
        {
            using var arena = new PipelinesArena(factory: factory);
            Sequence<int> ints = arena.Allocate<int>(4000);
            Assert.All(ints.ToArray(), value => Assert.Equal(0, value));
            foreach (Span<int> span in ints.Spans)
            {
                MemoryMarshal.AsBytes(span).Fill(0xCD);
            }

            source.Reset();
        }
    }
}
