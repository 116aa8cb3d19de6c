using RequestArena;
using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class RpcScopeEnvironmentTests : IDisposable
{
    private readonly Arena _arena = new();

    public void Dispose() => _arena.Dispose();

    [Fact]
    public void OverArena_IsReleasedWhenTheArenaResets()
    {
        var environment = new RpcScopeEnvironment(_arena);
        Memory<byte> memory = environment.Allocate(32, out _);

        _arena.Reset();

        Assert.True(environment.IsReleased);
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
        environment.Allocate(32, out RpcStatus status);
        Assert.Equal(RpcStatus.NoEnvironment, status);
        Assert.Equal(RpcStatus.NoEnvironment, environment.Free(memory));
    }

    [Fact]
    public void OverArena_IsNotEnabledByApplication()
    {
        var environment = new RpcScopeEnvironment(_arena);

        Assert.False(environment.IsEnabledByApplication);
    }

    [Fact]
    public void Dispose_OfEnvironmentOverArena_LeavesTheArenaAlone()
    {
        var environment = new RpcScopeEnvironment(_arena);
        environment.Allocate(32, out _);

        environment.Dispose();
        environment.Dispose();

        Assert.True(environment.IsReleased);
        Assert.False(_arena.IsDisposed);
        Assert.Equal(64, _arena.AllocateMemory(64).Length);
    }

    [Fact]
    public void Allocate_CountsAgainstTheArena()
    {
        var environment = new RpcScopeEnvironment(_arena);

        environment.Allocate(10, out _);

        Assert.True(_arena.AllocatedBytes >= 10 + RpcScopeEnvironment.HeaderSize);
    }

    [Fact]
    public void Allocate_WhenAChunkExceedsTheQuota_FallsBackToTheBlockAlone()
    {
        using var arena = new Arena(new ArenaOptions { MaxBytes = 600 });
        var environment = new RpcScopeEnvironment(arena);

        Memory<byte> memory = environment.Allocate(500, out RpcStatus status);

        Assert.Equal(RpcStatus.Ok, status);
        Assert.Equal(500, memory.Length);
        Assert.Equal(RpcStatus.Ok, environment.Free(memory));
    }

    [Fact]
    public unsafe void OverOtherAllocator_MisalignedMemory_StillAlignsBlocksAndFrees()
    {
        var heap = new HeapModuleAllocator(misalign: true);
        using var environment = new RpcScopeEnvironment(heap);

        for (int size = 0; size < 40; size++)
        {
            Memory<byte> memory = environment.Allocate(size, out RpcStatus status);
            Assert.Equal(RpcStatus.Ok, status);
            Assert.Equal(size, memory.Length);
            Assert.Equal(RpcStatus.Ok, environment.Free(memory));
            Assert.Equal(RpcStatus.InvalidArg, environment.Free(memory));
        }
    }

    [Fact]
    public void OverOtherAllocatorThatDoesNotZero_HandsOutOnlyZeroedBytes()
    {
        using var environment = new RpcScopeEnvironment(new HeapModuleAllocator(misalign: true, fill: 0xCD));

        // Enough small blocks to take several chunks, then blocks too large for a chunk, which come on their own.
        for (int i = 0; i < 300; i++)
        {
            Memory<byte> memory = environment.Allocate(1 + (i % 200), out RpcStatus status);
            Assert.Equal(RpcStatus.Ok, status);
            Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0);
        }

        foreach (int size in (int[])[10_000, 100_000])
        {
            Memory<byte> memory = environment.Allocate(size, out RpcStatus status);
            Assert.Equal(RpcStatus.Ok, status);
            Assert.True(memory.Span.IndexOfAnyExcept((byte)0) < 0);
        }
    }

    [Fact]
    public void OverOtherAllocator_QuotaBreach_ReturnsOutOfMemory()
    {
        var heap = new HeapModuleAllocator(maxBytes: 1000);
        using var environment = new RpcScopeEnvironment(heap);

        environment.Allocate(5000, out RpcStatus status);

        Assert.Equal(RpcStatus.OutOfMemory, status);
    }

    [Fact]
    public void OverOtherAllocator_AfterItEnded_ReturnsNoEnvironment()
    {
        var heap = new HeapModuleAllocator();
        using var environment = new RpcScopeEnvironment(heap);
        heap.Ended = true;

        Memory<byte> memory = environment.Allocate(20_000, out RpcStatus status);

        Assert.Equal(RpcStatus.NoEnvironment, status);
        Assert.True(memory.IsEmpty);
    }

    [Fact]
    public void TwoEnvironmentsOnOneArena_DoNotAcceptEachOthersBlocks()
    {
        var first = new RpcScopeEnvironment(_arena);
        var second = new RpcScopeEnvironment(_arena);
        Memory<byte> fromFirst = first.Allocate(16, out _);
        Memory<byte> fromSecond = second.Allocate(16, out _);

        Assert.Equal(RpcStatus.InvalidArg, second.Free(fromFirst));
        Assert.Equal(RpcStatus.InvalidArg, first.Free(fromSecond));
        Assert.Equal(RpcStatus.Ok, first.Free(fromFirst));
        Assert.Equal(RpcStatus.Ok, second.Free(fromSecond));
    }

    [Fact]
    public void Allocate_AlternatingBetweenEnvironmentsOnOneThread_KeepsEachEnvironmentsBlocksApart()
    {
        var first = new RpcScopeEnvironment(_arena);
        using var otherArena = new Arena();
        var second = new RpcScopeEnvironment(otherArena);
        var blocks = new List<(RpcScopeEnvironment Owner, Memory<byte> Memory)>();

        for (int i = 0; i < 200; i++)
        {
            RpcScopeEnvironment owner = i % 2 == 0 ? first : second;
            blocks.Add((owner, owner.Allocate(24, out _)));
        }

        foreach ((RpcScopeEnvironment owner, Memory<byte> memory) in blocks)
        {
            Assert.Equal(RpcStatus.Ok, owner.Free(memory));
        }
    }

    [Fact]
    public void TwoThreadsTakingTurns_EachFindsItsOwnChunk_BlocksDoNotOverlap()
    {
        // Each thread bumps its own chunk of the environment; turns keep each finding the other one active in between.
        var environment = new RpcScopeEnvironment(_arena);
        TakingTurns.Run(
            static thread => thread.Start(),
            () =>
            {
                Memory<byte> memory = environment.Allocate(40, out RpcStatus status);
                Assert.Equal(RpcStatus.Ok, status);
                return memory;
            },
            environment.Free);
    }

    [Fact]
    public void Allocate_AfterDispose_ReturnsNoEnvironmentEvenWhenTheChunkWasHot()
    {
        var environment = new RpcScopeEnvironment(_arena);
        environment.Allocate(8, out _);
        environment.Allocate(8, out _);

        environment.Dispose();

        Memory<byte> memory = environment.Allocate(8, out RpcStatus status);
        Assert.Equal(RpcStatus.NoEnvironment, status);
        Assert.True(memory.IsEmpty);
    }

    // A slice inside a live block, where the caller's own data copies a real header (the environment's id, then the
    // slice's length): Free must tell it from a block and leave the data alone. Chunked and own blocks, over checked and
    // unchecked arena memory and over an allocator that is no arena.
    [Theory]
    [InlineData("arena", 64)]
    [InlineData("arena", 20_000)]
    [InlineData("unchecked arena", 64)]
    [InlineData("unchecked arena", 20_000)]
    [InlineData("heap", 64)]
    [InlineData("heap", 20_000)]
    public void Free_SliceWhoseBytesCopyAHeader_InvalidArgAndTheBlockUntouched(string source, int size)
    {
        using var arena = new Arena(new ArenaOptions { DetectUseAfterRelease = source != "unchecked arena" });
        IModuleAllocator allocator = source == "heap" ? new HeapModuleAllocator() : arena;
        using var environment = new RpcScopeEnvironment(allocator);
        environment.Allocate(24, out _);
        Memory<byte> block = environment.Allocate(size, out RpcStatus allocated);
        Assert.Equal(RpcStatus.Ok, allocated);

        ReadOnlySpan<byte> header = HeaderOf(block);
        header[..4].CopyTo(block.Span);
        BitConverter.TryWriteBytes(block.Span[4..8], 16);
        byte[] before = block.Span.ToArray();

        Assert.Equal(RpcStatus.InvalidArg, environment.Free(block.Slice(8, 16)));

        Assert.True(block.Span.SequenceEqual(before), "the forged free wrote into the block");
        Assert.Equal(RpcStatus.Ok, environment.Free(block));
        Assert.Equal(RpcStatus.InvalidArg, environment.Free(block));
    }

    // The 8 bytes in front of a block, read the way any caller could.
    private static ReadOnlySpan<byte> HeaderOf(Memory<byte> block)
    {
        if (System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager<byte, System.Buffers.MemoryManager<byte>>(block, out var manager, out int start, out _))
        {
            return manager!.GetSpan().Slice(start - RpcScopeEnvironment.HeaderSize, RpcScopeEnvironment.HeaderSize);
        }

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(block, out ArraySegment<byte> segment));
        return segment.Array.AsSpan(segment.Offset - RpcScopeEnvironment.HeaderSize, RpcScopeEnvironment.HeaderSize);
    }
}
