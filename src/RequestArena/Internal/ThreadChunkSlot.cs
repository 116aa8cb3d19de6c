using System.Runtime.CompilerServices;

namespace RequestArena;

// The calling thread's chunks of the two owners (arenas, RPC environments) it used last: the one thread-chunk primitive
// of the library. A chunk is reachable from here only on the thread that created it, because thread-static storage is
// per thread by construction. That is what makes ownership exact: whatever stacks threads have, however they were
// created and whenever they exit, no other thread can find a chunk through this slot, so no two threads ever bump one
// chunk. (A stack-address test is cheaper but is not an identity: a dead thread's stack range is reused, several new
// threads to one old range.)
//
// On Linux a thread-static read is a call into the C library's TLS resolver (about 1 ns here); one read per allocation,
// on the owner check, is what exactness costs. The second entry keeps a thread alternating between two owners (an
// arena and an adapter over it, or two requests' arenas) off the owners' gates.
internal static class ThreadChunkSlot<TChunk>
    where TChunk : class
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

    // Drops both entries when they are the given chunk, so a released owner is not kept reachable by the thread.
    public static void Forget(TChunk chunk)
    {
        if (ReferenceEquals(t_last, chunk))
        {
            t_last = t_previous;
            t_previous = null;
        }
        else if (ReferenceEquals(t_previous, chunk))
        {
            t_previous = null;
        }
    }
}
