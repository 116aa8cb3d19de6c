using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;

namespace RequestArena.Tests;

public class ArenaBufferWriterTests
{
    [Fact]
    public void Utf8JsonWriter_WritesStraightIntoArenaMemory()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena, initialBlockSize: 64);

        using (var json = new Utf8JsonWriter(writer))
        {
            json.WriteStartArray();
            for (int i = 0; i < 500; i++)
            {
                json.WriteStartObject();
                json.WriteNumber("id", i);
                json.WriteString("name", $"item-{i}");
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        ReadOnlySequence<byte> written = writer.WrittenSequence;
        Assert.False(written.IsSingleSegment);
        Assert.Equal(writer.WrittenCount, written.Length);
        using JsonDocument document = JsonDocument.Parse(written);
        Assert.Equal(500, document.RootElement.GetArrayLength());
        Assert.Equal("item-499", document.RootElement[499].GetProperty("name").GetString());
        Assert.Equal(written.ToArray(), writer.GetWrittenMemory().ToArray());
    }

    [Fact]
    public void Advance_AfterTheArenaWasReset_ThrowsAndCountsNothing()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena);
        writer.GetSpan(8);
        arena.Reset();

        Assert.Throws<ObjectDisposedException>(() => writer.Advance(8));
        Assert.Equal(0, writer.WrittenCount);
        writer.Advance(0);
    }

    // Unchecked memory cannot fail by itself: the writer is revoked by the reset instead, so a block with room left is
    // never handed out again once it may serve another arena.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GetSpan_RoomLeftInABlockAfterTheArenaWasReset_ThrowsAndWritesNothing(bool detect)
    {
        using SlabPool pool = TestPools.Create(slabSize: 4096, maxRetained: 4096);
        using var arena = new Arena(pool, new ArenaOptions { DetectUseAfterRelease = detect });
        var writer = new ArenaBufferWriter(arena, initialBlockSize: 100);
        writer.GetSpan(10)[..10].Fill(1);
        writer.Advance(10);
        arena.Reset();
        using var other = new Arena(pool, new ArenaOptions { DetectUseAfterRelease = detect });
        Memory<byte> theirs = other.AllocateMemory(4000);
        theirs.Span.Fill(0xCD);

        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan(10));
        Assert.Throws<ObjectDisposedException>(() => writer.GetMemory(5000));
        Assert.Throws<ObjectDisposedException>(() => writer.Advance(1));
        Assert.Throws<ObjectDisposedException>(() => writer.GetWrittenMemory());
        Assert.True(theirs.Span.IndexOfAnyExcept((byte)0xCD) < 0);
        Assert.Equal(10, writer.WrittenCount);
    }

    // Over unchecked memory the sequence would show whatever another arena has written into the block since.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WrittenSequence_AfterTheCycleEnded_ThrowsInsteadOfShowingAnotherArenasBytes(bool detect)
    {
        using SlabPool pool = TestPools.Create(slabSize: 4096, maxRetained: 4096);
        using var arena = new Arena(pool, new ArenaOptions { DetectUseAfterRelease = detect });
        var writer = new ArenaBufferWriter(arena, initialBlockSize: 100);
        writer.GetSpan(16)[..16].Fill(1);
        writer.Advance(16);
        arena.Reset();
        using var other = new Arena(pool, new ArenaOptions { DetectUseAfterRelease = detect });
        other.AllocateMemory(4000).Span.Fill(0xCD);

        Assert.Throws<ObjectDisposedException>(() => writer.WrittenSequence);
        Assert.Equal(16, writer.WrittenCount);
    }

    [Fact]
    public void Clear_AfterTheCycleEnded_WriterServesTheNextCycle()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena);
        writer.GetSpan(8);
        writer.Advance(8);
        arena.Reset();
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan(8));

        writer.Clear();
        "hello"u8.CopyTo(writer.GetSpan(5));
        writer.Advance(5);
        arena.Reset();

        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan(1));
    }

    [Fact]
    public void Utf8JsonWriter_KeptPastAReset_FlushThrows()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena);
        var json = new Utf8JsonWriter(writer);
        json.WriteStartArray();
        json.WriteNumberValue(1);
        arena.Reset();

        Assert.Throws<ObjectDisposedException>(() => json.WriteNumberValue(2));
        Assert.Throws<ObjectDisposedException>(() => json.Flush());
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void SingleBlock_WrittenSequenceIsOneSegment()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena);

        writer.Write("hello"u8);

        Assert.True(writer.WrittenSequence.IsSingleSegment);
        Assert.Equal("hello", Encoding.UTF8.GetString(writer.GetWrittenMemory().Span));
    }

    [Fact]
    public void GetSpan_SizeHintLargerThanBlock_IsHonoured()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena, initialBlockSize: 16);

        Span<byte> span = writer.GetSpan(100_000);

        Assert.True(span.Length >= 100_000);
    }

    [Fact]
    public void Advance_PastTheBuffer_ThrowsAndKeepsState()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena, initialBlockSize: 16);
        Memory<byte> memory = writer.GetMemory(4);
        writer.Advance(2);

        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(memory.Length));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.GetMemory(-1));
        Assert.Equal(2, writer.WrittenCount);
    }

    [Fact]
    public async Task PipeWriter_OverArenaWriter_CopiesBodyIntoArena()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena, initialBlockSize: 32);
        var source = new MemoryStream(Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray());
        PipeReader reader = PipeReader.Create(source);

        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                writer.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal(source.ToArray(), writer.WrittenSequence.ToArray());
    }

    [Fact]
    public void Clear_StartsOver()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena);
        writer.Write("abc"u8);

        writer.Clear();

        Assert.Equal(0, writer.WrittenCount);
        Assert.True(writer.WrittenSequence.IsEmpty);
        Assert.True(writer.GetWrittenMemory().IsEmpty);
    }

    [Fact]
    public void WrittenMemory_AfterArenaReset_ThrowsObjectDisposed()
    {
        using var arena = new Arena(TestPools.Create());
        var writer = new ArenaBufferWriter(arena);
        writer.Write("abc"u8);
        ReadOnlyMemory<byte> written = writer.GetWrittenMemory();

        arena.Reset();

        Assert.Throws<ObjectDisposedException>(() => written.Span.Length);
    }

    [Fact]
    public void GetMemory_FirstBlockOfOneGiB_LaterBlocksNeverShrink()
    {
        var allocator = new SizeRecorder();
        var writer = new ArenaBufferWriter(allocator, initialBlockSize: 1 << 30);

        for (int i = 0; i < 3; i++)
        {
            Memory<byte> memory = writer.GetMemory(1);
            writer.Advance(memory.Length);
        }

        Assert.Equal([1 << 30, 1 << 30, 1 << 30], allocator.Sizes);
    }

    // Records the sizes asked for and hands out a few bytes each, so a writer planning 1 GiB blocks takes no such memory.
    private sealed class SizeRecorder : IModuleAllocator
    {
        public List<int> Sizes { get; } = [];

        public Memory<byte> AllocateMemory(int cbAllocation)
        {
            Sizes.Add(cbAllocation);
            return new byte[16];
        }
    }
}
