using System.Runtime.CompilerServices;

namespace RequestArena;

// The calling thread's chunks of the two owners (arenas, RPC environments) it used last: the one thread-chunk primitive
// of the library. A chunk is reachable from here only on the thread that created it, because thread-static storage is
// per thread by construction. That is what makes ownership exact: whatever stacks threads have, however they were
// created and whenever they exit, no other thread can find a chunk through this slot, so no two threads ever bump one
// chunk. (A stack-address test is cheaper but is not an identity: a dead thread's stack range is reused, several new
// threads to one old range.)
//
// On Linux a thread-static read is a call into the C library's TLS resolver; one read per allocation, on the owner
// check, is what exactness costs (Allocate32Benchmarks shows it). The second entry keeps a thread alternating between two owners (an
// arena and an adapter over it, or two requests' arenas) off the owners' gates.
internal static class ThreadChunkSlot<TChunk>
    where TChunk : class, IThreadChunk
{
    [ThreadStatic]
    private static TChunk? t_last;

    [ThreadStatic]
    private static TChunk? t_previous;

    // The chunk the thread used last, whatever its owner; the caller checks the owner.
    public static TChunk? Last
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_last;
    }

    // The chunk the thread used before the last one; promoted to Last by the caller when it belongs to the owner in hand.
    public static TChunk? Previous => t_previous;

    // Makes chunk the thread's Last, keeping the former Last as Previous (a no-op when chunk already is Last).
    public static void Use(TChunk chunk)
    {
        TChunk? last = t_last;
        if (!ReferenceEquals(last, chunk))
        {
            t_previous = last;
            t_last = chunk;
        }
    }

    // The owner's slow path, under its lock: the calling thread's chunk among the owner's, found by its Thread object
    // (which no other live thread shares), or a new one from `create` added to the list; made the thread's Last.
    public static TChunk ForCurrentThread(ref TChunk[] chunks, ref int count, Func<Thread, TChunk> create)
    {
        Thread thread = Thread.CurrentThread;
        TChunk? chunk = null;
        for (int i = 0; i < count; i++)
        {
            if (chunks[i].Thread == thread)
            {
                chunk = chunks[i];
                break;
            }
        }

        if (chunk is null)
        {
            if (count == chunks.Length)
            {
                Array.Resize(ref chunks, Math.Max(2, chunks.Length * 2));
            }

            chunk = create(thread);
            chunks[count++] = chunk;
        }

        Use(chunk);
        return chunk;
    }
}

// A chunk of one owner for one thread: what ThreadChunkSlot needs to know of it.
internal interface IThreadChunk
{
    // The thread the chunk belongs to for its whole life.
    Thread Thread { get; }
}
