using BenchmarkDotNet.Attributes;
using RequestArena;
using RequestArena.Adapters;

/// <summary>
/// The adapter bars: a bidi allocate+free pair of 64 bytes at most 3x, and an RPC-scope allocation of 64 bytes at
/// most 2x, a plain <see cref="Arena.AllocateMemory"/> of 64 bytes. Every benchmark makes <see cref="Ops"/>
/// operations and then resets its arena, so each pays its share of the reset (and of the slab zeroing it does) the
/// same way a request would.
/// </summary>
[MemoryDiagnoser]
public class AdapterBenchmarks
{
    private const int Ops = 1024;
    private const int Size = 64;

    private Arena _plainArena = null!;
    private Arena _bidiArena = null!;
    private BidiAllocator _bidi = null!;
    private Arena _rpcArena = null!;
    private RpcScopeEnvironment _rpc = null!;

    [GlobalSetup]
    public void Setup()
    {
        _plainArena = new Arena();
        _bidiArena = new Arena();
        _bidi = new BidiAllocator(_bidiArena);
        _rpcArena = new Arena();
        _rpc = new RpcScopeEnvironment(_rpcArena);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plainArena.Dispose();
        _bidiArena.Dispose();
        _rpcArena.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Ops)]
    public int ArenaAllocate64()
    {
        Arena arena = _plainArena;
        int total = 0;
        for (int i = 0; i < Ops; i++)
        {
            total += arena.AllocateMemory(Size).Length;
        }

        arena.Reset();
        return total;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int BidiAllocateFree64()
    {
        BidiAllocator bidi = _bidi;
        int total = 0;
        for (int i = 0; i < Ops; i++)
        {
            BidiBlock block = bidi.Allocate(Size);
            total += block.Length;
            bidi.Free(block);
        }

        // The reset releases the allocator with the arena, as the end of a request does; the next request gets a new one.
        _bidiArena.Reset();
        _bidi = new BidiAllocator(_bidiArena);
        return total;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int RpcAllocate64()
    {
        // The ambient environment, as code inside a request finds it.
        RpcScopeAllocator.SetThreadHandle(_rpc);
        int total = 0;
        for (int i = 0; i < Ops; i++)
        {
            total += RpcScopeAllocator.Allocate(Size, out RpcStatus status).Length + (int)status;
        }

        _rpcArena.Reset();
        _rpc = new RpcScopeEnvironment(_rpcArena);
        return total;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int RpcEnvironmentAllocate64()
    {
        RpcScopeEnvironment rpc = _rpc;
        int total = 0;
        for (int i = 0; i < Ops; i++)
        {
            total += rpc.Allocate(Size, out RpcStatus status).Length + (int)status;
        }

        _rpcArena.Reset();
        _rpc = new RpcScopeEnvironment(_rpcArena);
        return total;
    }
}
