using Microsoft.Extensions.DependencyInjection;

namespace WebDemo.Tests;

public sealed class ArrayPoolAllocatorTests
{
    [Fact]
    public void AllocateMemory_ManyBuffers_AreDistinctAndAllReturnedOnDispose()
    {
        var pool = new ArrayPoolAllocator();
        var buffers = new List<Memory<byte>>();
        for (int i = 0; i < 3000; i++)
        {
            Memory<byte> memory = pool.AllocateMemory(i % 40 + 1);
            Assert.Equal(i % 40 + 1, memory.Length);
            memory.Span.Fill((byte)i);
            buffers.Add(memory);
        }

        // Held at once: no buffer was handed out twice.
        for (int i = 0; i < buffers.Count; i++)
        {
            Assert.All(buffers[i].Span.ToArray(), b => Assert.Equal((byte)i, b));
        }

        Assert.Equal(3000, pool.RentedCount);
        pool.Dispose();
        Assert.Equal(0, pool.RentedCount);
    }

    [Fact]
    public void AllocateMemory_Zero_IsEmptyAndRentsNothing()
    {
        using var pool = new ArrayPoolAllocator();

        Assert.True(pool.AllocateMemory(0).IsEmpty);
        Assert.Equal(0, pool.RentedCount);
    }

    [Fact]
    public void AllocateMemory_Negative_Throws()
    {
        using var pool = new ArrayPoolAllocator();

        Assert.Throws<ArgumentOutOfRangeException>(() => pool.AllocateMemory(-1));
    }

    [Fact]
    public void AllocateMemory_AfterDispose_Throws()
    {
        var pool = new ArrayPoolAllocator();
        pool.AllocateMemory(10);
        pool.Dispose();
        pool.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pool.AllocateMemory(10));
        Assert.Equal(0, pool.RentedCount);
    }

    [Fact]
    public void Scoped_EndOfScope_ReturnsEverything()
    {
        using var factory = new DemoFactory();
        ArrayPoolAllocator pool;
        using (IServiceScope scope = factory.Services.CreateScope())
        {
            pool = scope.ServiceProvider.GetRequiredService<ArrayPoolAllocator>();
            Assert.Same(pool, scope.ServiceProvider.GetRequiredService<ArrayPoolAllocator>());
            pool.AllocateMemory(100);
            pool.AllocateMemory(5000);
            Assert.Equal(2, pool.RentedCount);
        }

        Assert.Equal(0, pool.RentedCount);
    }
}
