namespace RequestArena.AspNetCore.Tests.Adapters;

// What a handler leaves behind for the test to look at after the response: the objects it used, and a signal for
// "the request's arena has been released", which comes after the response when OnCompleted runs.
internal sealed class Captured<T>
    where T : class
{
    private readonly TaskCompletionSource<T> _value = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set(T value) => _value.TrySetResult(value);

    public Task<T> Task => _value.Task.WaitAsync(TimeSpan.FromSeconds(10));

    // Release runs in an OnCompleted callback after the client has its response, so poll briefly for it.
    public static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200; i++)
        {
            if (condition())
            {
                return true;
            }

            await System.Threading.Tasks.Task.Delay(10);
        }

        return condition();
    }
}
