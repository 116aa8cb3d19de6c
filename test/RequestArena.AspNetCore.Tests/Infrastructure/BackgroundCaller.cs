namespace RequestArena.AspNetCore.Tests;

/// <summary>
/// One background thread that runs a call loop per trial, for tests that release a request while another thread is
/// still calling through something the request handed out. The thread lives across trials, so a trial costs two
/// handshakes rather than a thread start.
/// </summary>
internal sealed class BackgroundCaller : IDisposable
{
    private readonly SemaphoreSlim _start = new(0);
    private readonly SemaphoreSlim _ended = new(0);
    private readonly Thread _thread;
    private Action? _loop;
    private Exception? _error;
    private volatile bool _inLoop;
    private volatile bool _finished;

    public BackgroundCaller()
    {
        _thread = new Thread(Run) { IsBackground = true };
        _thread.Start();
    }

    /// <summary>Starts <paramref name="loop"/> on the background thread; it runs until it returns or throws.</summary>
    public void Start(Action loop)
    {
        _loop = loop;
        _error = null;
        _inLoop = false;
        _start.Release();
    }

    /// <summary>Called by the loop once per round, so that the test can release at a point inside it.</summary>
    public void InLoop() => _inLoop = true;

    /// <summary>Waits until the loop has run a round.</summary>
    public bool WaitInLoop(TimeSpan timeout) => SpinWait.SpinUntil(() => _inLoop, timeout);

    /// <summary>Waits until the loop has ended; <paramref name="error"/> is what it threw, or null if it returned.</summary>
    public bool WaitEnded(TimeSpan timeout, out Exception? error)
    {
        bool ended = _ended.Wait(timeout);
        error = _error;
        return ended;
    }

    // Bounded: after a failed trial the loop may never end, and a background thread does not keep the process alive.
    public void Dispose()
    {
        _finished = true;
        _start.Release();
        if (_thread.Join(TimeSpan.FromSeconds(10)))
        {
            _start.Dispose();
            _ended.Dispose();
        }
    }

    private void Run()
    {
        while (true)
        {
            _start.Wait();
            if (_finished)
            {
                return;
            }

            try
            {
                _loop!();
            }
            catch (Exception ex)
            {
                _error = ex;
            }

            _ended.Release();
        }
    }
}
