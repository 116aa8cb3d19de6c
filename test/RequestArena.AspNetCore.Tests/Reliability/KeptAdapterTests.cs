using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RequestArena.Adapters;
using RequestArena.AspNetCore.Tests.Adapters;

namespace RequestArena.AspNetCore.Tests.Reliability;

// Objects built over a request's IModuleAllocator and kept past the request: when the next request owns the slabs,
// every call on them must be refused and must not write a single byte into the next request's memory.
[Collection(ReliabilityCollection.Name)]
public class KeptAdapterTests
{
    private const int FillBlocks = 16;
    private const int FillBlockSize = 60 * 1024;
    private const byte Pattern = 0xAB;

    [Theory]
    [InlineData("bidi")]
    [InlineData("rpc")]
    [InlineData("ndis")]
    [InlineData("handle")]
    [InlineData("handle-try")]
    [InlineData("writer")]
    [InlineData("json")]
    [InlineData("memory-pool")]
    public async Task KeptPastItsRequest_RefusesAndLeavesTheNextRequestsBytesAlone(string kind)
    {
        object? kept = null;
        await using var host = await ArenaTestHost.StartAsync(app =>
        {
            app.MapGet("/keep", (HttpContext context) =>
            {
                IModuleAllocator handle = context.GetRequestArena();
                kept = kind switch
                {
                    "bidi" => KeepBidi(handle),
                    "rpc" => KeepRpc(handle),
                    "ndis" => KeepNdis(handle),
                    "writer" => KeepWriter(handle),
                    "json" => KeepJson(handle),
                    "memory-pool" => KeepMemoryPool(handle),
                    "handle-try" => new KeptArenaAllocator((IArenaAllocator)handle),
                    _ => handle,
                };
                return "kept";
            });

            app.MapGet("/next", (HttpContext context) =>
            {
                IModuleAllocator handle = context.GetRequestArena();

                // Take every slab the pool holds, so whatever the kept object points at is this request's now.
                var blocks = new Memory<byte>[FillBlocks];
                for (int i = 0; i < blocks.Length; i++)
                {
                    blocks[i] = handle.AllocateMemory(FillBlockSize);
                    blocks[i].Span.Fill(Pattern);
                }

                long before = ((RequestArenaAllocator)handle).AllocatedBytes;
                string refused = UseKept(kept!);
                long after = ((RequestArenaAllocator)handle).AllocatedBytes;
                bool intact = blocks.All(b => b.Span.IndexOfAnyExcept(Pattern) < 0);
                return $"{refused} intact={intact} charged={after - before}";
            });
        });

        Assert.Equal("kept", await host.Client.GetStringAsync("/keep"));

        // The kept object's flag is set as the release begins; the slabs it points at are back in the pool, for the next
        // request to take, only once the release is over.
        await Released.WaitUntilAsync(
            () => IsReleased(kept!) && host.Statistics.GetSnapshot().Pool.SlabsInUse == 0, "the kept object's slabs are back in the pool");
        Assert.Equal("refused=True intact=True charged=0", await host.Client.GetStringAsync("/next"));
    }

    private static bool IsReleased(object kept) => kept switch
    {
        BidiAllocator bidi => bidi.IsDisposed,
        RpcScopeEnvironment rpc => rpc.IsReleased,
        NdisMemoryAllocator ndis => ndis.IsDisposed,
        ArenaBufferWriter writer => AllRefused(() => _ = writer.WrittenSequence.First.Span),
        KeptJson json => AllRefused(() => _ = json.Writer.WrittenSequence.First.Span),
        KeptMemoryPool pool => AllRefused(() => _ = pool.Rented.Memory.Span),
        KeptArenaAllocator arena => ((RequestArenaAllocator)arena.Allocator).IsReleased,
        _ => ((RequestArenaAllocator)kept).IsReleased,
    };

    private static BidiAllocator KeepBidi(IModuleAllocator handle)
    {
        var bidi = new BidiAllocator(handle);

        // A freed block is reused (and cleared through its cached address) by the next allocation of its class.
        bidi.Free(bidi.Allocate(48));
        return bidi;
    }

    private static RpcScopeEnvironment KeepRpc(IModuleAllocator handle)
    {
        var rpc = new RpcScopeEnvironment(handle);
        rpc.Allocate(16, out _);
        return rpc;
    }

    private static NdisMemoryAllocator KeepNdis(IModuleAllocator handle)
    {
        var ndis = new NdisMemoryAllocator(handle);
        ndis.AllocateMemory(out _, 64, NdisMemoryFlags.None);
        return ndis;
    }

    private static ArenaBufferWriter KeepWriter(IModuleAllocator handle)
    {
        // Written into, so the writer holds a block with room left: its next write would go there without asking.
        var writer = new ArenaBufferWriter(handle, initialBlockSize: 4096);
        "kept"u8.CopyTo(writer.GetSpan(4));
        writer.Advance(4);
        return writer;
    }

    private static KeptJson KeepJson(IModuleAllocator handle)
    {
        // Written into and not flushed, so the JSON writer holds the window its buffer writer handed it.
        ArenaBufferWriter writer = KeepWriter(handle);
        var json = new System.Text.Json.Utf8JsonWriter(writer);
        json.WriteStartArray();
        json.WriteNumberValue(1);
        return new KeptJson(writer, json);
    }

    private static KeptMemoryPool KeepMemoryPool(IModuleAllocator handle)
    {
        var pool = new ArenaMemoryPool(handle);
        IMemoryOwner<byte> rented = pool.Rent(64);
        rented.Memory.Span.Fill(1);
        return new KeptMemoryPool(pool, rented);
    }

    // True when each call ends in ObjectDisposedException; a call that succeeds makes it false, and any other exception
    // escapes and fails the row. (Also how a kept writer or pool shows that its request has ended: the memory it
    // handed out throws.)
    private static bool AllRefused(params Action[] calls)
    {
        foreach (Action call in calls)
        {
            try
            {
                call();
                return false;
            }
            catch (ObjectDisposedException)
            {
            }
        }

        return true;
    }

    private static string UseKept(object kept)
    {
        switch (kept)
        {
            case ArenaBufferWriter writer:
                return $"refused={AllRefused(
                    () => writer.GetSpan(16).Fill(0xEE),
                    () => writer.GetMemory(16).Span.Fill(0xEE),
                    () => writer.GetSpan(100_000).Fill(0xEE))}";
            case KeptJson json:
                return $"refused={AllRefused(
                    () => json.Json.WriteStringValue(new string('x', 64)),
                    () => json.Json.Flush())}";
            case KeptMemoryPool pool:
                return $"refused={AllRefused(
                    () => pool.Rented.Memory.Span.Fill(0xEE),
                    () => pool.Pool.Rent(64).Memory.Span.Fill(0xEE))}";
            case KeptArenaAllocator arena:
                return $"refused={AllRefused(
                    () => arena.Allocator.TryAllocateMemory(16, out _),
                    () => arena.Allocator.TryAllocateMemory(0, out _),
                    () => arena.Allocator.RegisterForCleanup(new MemoryStream()))}";
            case BidiAllocator bidi:
                BidiBlock block = bidi.Allocate(48);
                BidiBlock big = bidi.Allocate(20_000);
                return $"refused={block.IsEmpty && big.IsEmpty && BidiAllocator.GetLastError() == Win32Error.InvalidHandle}";
            case RpcScopeEnvironment rpc:
                rpc.Allocate(16, out RpcStatus small);
                rpc.Allocate(20_000, out RpcStatus large);
                return $"refused={small == RpcStatus.NoEnvironment && large == RpcStatus.NoEnvironment}";
            case NdisMemoryAllocator ndis:
                SlabProviderStatus arenaBlock = ndis.AllocateMemory(out _, 64, NdisMemoryFlags.None);
                SlabProviderStatus native = ndis.AllocateMemory(out _, 64, NdisMemoryFlags.NonCached);
                return $"refused={arenaBlock == SlabProviderStatus.Failure && native == SlabProviderStatus.Failure}";
            default:
                var handle = (IModuleAllocator)kept;
                try
                {
                    handle.AllocateMemory(16);
                    return "refused=False";
                }
                catch (ObjectDisposedException)
                {
                    return "refused=True";
                }
        }
    }

    private sealed record KeptJson(ArenaBufferWriter Writer, System.Text.Json.Utf8JsonWriter Json);

    private sealed record KeptMemoryPool(ArenaMemoryPool Pool, IMemoryOwner<byte> Rented);

    private sealed record KeptArenaAllocator(IArenaAllocator Allocator);
}
