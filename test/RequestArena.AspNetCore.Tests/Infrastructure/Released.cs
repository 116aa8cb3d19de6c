namespace RequestArena.AspNetCore.Tests;

internal static class Released
{
    /// <summary>True when touching the memory throws ObjectDisposedException, i.e. its arena has been released.</summary>
    public static bool Is(Memory<byte> memory)
    {
        try
        {
            _ = memory.Span;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails after 10 s with <paramref name="what"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(5);
        }
    }
}
