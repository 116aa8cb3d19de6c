using System.Collections.Concurrent;

namespace RequestArena.AspNetCore.Tests;

/// <summary>What endpoints hand back to the test besides the response: objects and memory they captured, signals.</summary>
internal sealed class Probe
{
    public ConcurrentQueue<object> Allocators { get; } = new();

    public ConcurrentQueue<Memory<byte>> Memories { get; } = new();

    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<string> Notes { get; } = new();
}
