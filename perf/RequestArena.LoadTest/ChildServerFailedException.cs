namespace RequestArena.LoadTest;

/// <summary>The server under test did not start listening: it exited first (not a WebDemo, a start-up error), or took too long.</summary>
internal sealed class ChildServerFailedException(string message, Exception? inner = null) : Exception(message, inner);
