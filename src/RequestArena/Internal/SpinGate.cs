using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace RequestArena;

// A non-reentrant lock for the arena's and the pool's short critical sections (tens of instructions, never a wait or
// a callback inside). Entering costs one compare-exchange: unlike System.Threading.Lock it needs no thread id, which
// on Linux is a thread-local read through __tls_get_addr on every enter. Under contention it spins, then yields, then
// sleeps, like SpinWait; a holder preempted mid-section only delays the others.
internal struct SpinGate
{
    private int _held;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [UnscopedRef]
    public Scope EnterScope()
    {
        if (Interlocked.CompareExchange(ref _held, 1, 0) != 0)
        {
            EnterContended();
        }

        return new Scope(ref _held);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterContended()
    {
        var spinner = default(SpinWait);
        do
        {
            spinner.SpinOnce();
        }
        while (Volatile.Read(ref _held) != 0 || Interlocked.CompareExchange(ref _held, 1, 0) != 0);
    }

    public readonly ref struct Scope
    {
        private readonly ref int _held;

        public Scope(ref int held) => _held = ref held;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Dispose() => Volatile.Write(ref _held, 0);
    }
}
