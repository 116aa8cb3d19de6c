using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RequestArena.AspNetCore;

// Everything a request needs from the application, gathered once so the per-request objects hold one reference.
internal sealed class RequestArenaRuntime
{
    public RequestArenaRuntime(
        IOptions<RequestArenaOptions> options,
        RequestArenaPools pools,
        RequestArenaMetrics metrics)
    {
        RequestArenaOptions value = options.Value;
        MaxBytesPerRequest = value.MaxBytesPerRequest;
        LimitExceededStatusCode = value.LimitExceededStatusCode;
        ZeroMemory = value.ZeroMemory;
        ArenaPool = pools.ArenaPool;
        Metrics = metrics;
        Logger = pools.Logger;
    }

    public long MaxBytesPerRequest { get; }

    public int LimitExceededStatusCode { get; }

    public bool ZeroMemory { get; }

    public ArenaPool ArenaPool { get; }

    public RequestArenaMetrics Metrics { get; }

    public ILogger Logger { get; }

    // Set once an endpoint of the application has failed with its arena in use. Until then no request can carry a
    // suspended allocator, and the middleware skips looking for one.
    public bool AllocatorsSuspended
    {
        get => Volatile.Read(ref _allocatorsSuspended);
        set => Volatile.Write(ref _allocatorsSuspended, value);
    }

    private bool _allocatorsSuspended;
}
