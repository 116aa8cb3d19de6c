namespace RequestArena.AspNetCore.Tests.Adapters;

// What a handler leaves behind for the test to look at after the response: the objects it used. Their release comes
// after the response, when OnCompleted runs, so tests wait for it with Released.WaitUntilAsync.
internal sealed class Captured<T>
    where T : class
{
    private readonly TaskCompletionSource<T> _value = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set(T value) => _value.TrySetResult(value);

    public Task<T> Task => _value.Task.WaitAsync(TimeSpan.FromSeconds(10));
}
