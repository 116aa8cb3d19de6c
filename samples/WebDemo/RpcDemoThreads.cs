using Microsoft.Extensions.Options;

namespace WebDemo;

/// <summary>
/// Bounds the OS threads <c>/api/adapters/rpc</c> starts: at most <see cref="DemoOptions.RpcMaxThreads"/> at once.
/// A request that finds every slot taken is refused at once (503) rather than queued, so a flood of requests can
/// neither pile up threads nor pile up waiters.
/// </summary>
internal sealed class RpcDemoThreads : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private int _running;
    private int _peak;

    public RpcDemoThreads(IOptions<DemoOptions> options)
    {
        Limit = options.Value.RpcMaxThreads;
        _slots = new SemaphoreSlim(Limit, Limit);
    }

    public int Limit { get; }

    /// <summary>The most demo threads that have run at the same time since start.</summary>
    public int Peak => Volatile.Read(ref _peak);

    /// <summary>Takes a slot without waiting; the caller must <see cref="Exit"/> once its thread has finished.</summary>
    public bool TryEnter() => _slots.Wait(0);

    public void Exit() => _slots.Release();

    /// <summary>Runs <paramref name="work"/> on a new background thread that inherits no execution context.</summary>
    public Task<T> RunOnNewThread<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            int running = Interlocked.Increment(ref _running);
            for (int peak = Volatile.Read(ref _peak); running > peak; peak = Volatile.Read(ref _peak))
            {
                Interlocked.CompareExchange(ref _peak, running, peak);
            }

            try
            {
                // Counted as stopped before the result is seen, so a slot is never reused while this thread counts.
                T result = work();
                Interlocked.Decrement(ref _running);
                done.SetResult(result);
            }
            catch (Exception ex)
            {
                Interlocked.Decrement(ref _running);
                done.SetException(ex);
            }
        })
        { IsBackground = true, Name = "rpc-demo" };

        using (ExecutionContext.SuppressFlow())
        {
            thread.Start();
        }

        return done.Task;
    }

    public void Dispose() => _slots.Dispose();
}
