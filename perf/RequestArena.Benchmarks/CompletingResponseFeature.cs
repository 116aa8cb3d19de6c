using Microsoft.AspNetCore.Http.Features;

namespace RequestArena.Benchmarks;

/// <summary>
/// A response feature that keeps the OnCompleted callback the arena middleware registers, so a benchmark can run it
/// after the request as the server does once the response has been sent (which is when the arena is released).
/// </summary>
internal sealed class CompletingResponseFeature : HttpResponseFeature
{
    private Func<object, Task>? _callback;
    private object? _state;

    public override void OnCompleted(Func<object, Task> callback, object state)
    {
        _callback = callback;
        _state = state;
    }

    public Task CompleteAsync()
    {
        Func<object, Task>? callback = _callback;
        _callback = null;
        return callback is null ? Task.CompletedTask : callback(_state!);
    }
}
