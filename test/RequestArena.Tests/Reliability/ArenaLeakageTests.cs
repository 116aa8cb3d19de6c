using System.Security.Cryptography;

namespace RequestArena.Tests.Reliability;

// Many short "requests" on pooled arenas over one slab pool, each writing a secret into everything it allocates.
public class ArenaLeakageTests
{
    [Fact]
    public void TenThousandRequests_NeverSeeAnotherRequestsBytes()
    {
        const int seed = 20261122;
        var random = new Random(seed);
        using var slabs = TestPools.Create(slabSize: 4096, maxRetained: 64 * 4096);
        var arenas = new ArenaPool(slabs);
        byte[] secret = new byte[16];

        for (int request = 0; request < 10_000; request++)
        {
            Arena arena = arenas.Rent();
            RandomNumberGenerator.Fill(secret);
            int allocations = random.Next(1, 12);
            for (int i = 0; i < allocations; i++)
            {
                int size = random.Next(20) == 0 ? random.Next(5_000, 20_000) : random.Next(1, 700);
                Memory<byte> memory = arena.AllocateMemory(size);
                int dirty = memory.Span.IndexOfAnyExcept((byte)0);
                Assert.True(dirty < 0, $"seed {seed}, request {request}: byte {dirty} of a fresh {size}-byte allocation was not zero");
                for (int offset = 0; offset < size; offset += secret.Length)
                {
                    secret.AsSpan(0, Math.Min(secret.Length, size - offset)).CopyTo(memory.Span[offset..]);
                }
            }

            arenas.Return(arena);
        }

        SlabPoolStatistics stats = slabs.GetStatistics();
        Assert.Equal(stats.SlabsRented, stats.SlabsReturned);
        Assert.True(stats.PooledBytes <= stats.MaxRetainedBytes);
    }

    [Fact]
    public void ZeroMemoryOff_PromisesOnlyNoOverlapAlignmentAndRelease()
    {
        // Documented as unsafe: another arena's bytes may show. What still holds: regions never overlap, are aligned,
        // and die with the arena.
        using var slabs = TestPools.Create(slabSize: 4096);
        using (var first = new Arena(slabs, new ArenaOptions { ZeroMemory = false }))
        {
            first.AllocateMemory(4000).Span.Fill(0x77);
        }

        var second = new Arena(slabs, new ArenaOptions { ZeroMemory = false, Alignment = 64 });
        Memory<byte> a = second.AllocateMemory(100);
        Memory<byte> b = second.AllocateMemory(100);
        Assert.Equal(0x77, a.Span[0]);
        b.Span.Fill(1);
        a.Span.Fill(2);
        Assert.True(b.Span.IndexOfAnyExcept((byte)1) < 0);
        Assert.Equal(0, TestPools.AddressOf(b) % 64);
        second.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.Span.Length);
    }
}
