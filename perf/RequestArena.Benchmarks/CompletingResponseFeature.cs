using Microsoft.AspNetCore.Http.Features;

namespace RequestArena.Benchmarks;

/// <summary>
/// A response feature that keeps the OnCompleted callbacks (the arena middleware's release, the request scope's
/// disposal) so a benchmark can run them after the request as the server does once the response has been sent:
/// all of them, in reverse order of registration.
/// </summary>
internal sealed class CompletingResponseFeature : HttpResponseFeature
{
    private readonly List<(Func<object, Task> Callback, object State)> _callbacks = [];

    public override void OnCompleted(Func<object, Task> callback, object state) => _callbacks.Add((callback, state));

    public Task CompleteAsync()
    {
        while (_callbacks.Count > 0)
        {
            (Func<object, Task> callback, object state) = _callbacks[^1];
            _callbacks.RemoveAt(_callbacks.Count - 1);
            Task task = callback(state);
            if (!task.IsCompletedSuccessfully)
            {
                return AwaitRestAsync(task);
            }
        }

        return Task.CompletedTask;
    }

    private async Task AwaitRestAsync(Task pending)
    {
        await pending;
        await CompleteAsync();
    }
}
