using System.Collections.Concurrent;
using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

// Two threads allocating in short turns on one environment, so that each keeps finding the other's chunk the most
// recently used one. Every block is filled with its thread's tag, then checked untouched and freed at the end.
internal static class TakingTurns
{
    public const int Blocks = 2 * 300 * 3;

    /// <param name="startThread">How each thread begins (with or without the caller's execution context).</param>
    /// <param name="allocate">One allocation on the thread; must succeed.</param>
    /// <param name="free">Frees one block; must return Ok.</param>
    public static void Run(Action<Thread> startThread, Func<Memory<byte>> allocate, Func<Memory<byte>, RpcStatus> free, Action? onThreadStart = null)
    {
        var blocks = new ConcurrentBag<(byte Tag, Memory<byte> Memory)>();
        using var turn = new SemaphoreSlim(1);
        var threads = new Thread[2];
        for (int t = 0; t < threads.Length; t++)
        {
            byte tag = (byte)(t + 1);
            threads[t] = new Thread(() =>
            {
                onThreadStart?.Invoke();
                for (int i = 0; i < 300; i++)
                {
                    turn.Wait();
                    try
                    {
                        for (int k = 0; k < 3; k++)
                        {
                            Memory<byte> memory = allocate();
                            memory.Span.Fill(tag);
                            blocks.Add((tag, memory));
                        }
                    }
                    finally
                    {
                        turn.Release();
                    }
                }
            });
            startThread(threads[t]);
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.Equal(Blocks, blocks.Count);
        foreach ((byte tag, Memory<byte> memory) in blocks)
        {
            Assert.True(memory.Span.IndexOfAnyExcept(tag) < 0);
            Assert.Equal(RpcStatus.Ok, free(memory));
        }
    }
}
