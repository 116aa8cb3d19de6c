namespace RequestArena;

/// <summary>
/// An allocator whose memory is reclaimed all at once (an arena at <see cref="Arena.Reset"/>, a request's arena when
/// the request ends) and that disposes registered objects first. Objects built over such an allocator that keep
/// addresses of its memory (adapters, writers) register here, so that they stop using those addresses before the
/// memory can serve anyone else.
/// </summary>
public interface ICleanupRegistry
{
    /// <summary>
    /// Registers <paramref name="disposable"/> to be disposed, in reverse order of registration, before the memory
    /// handed out so far is reclaimed.
    /// </summary>
    /// <param name="disposable">What to dispose.</param>
    /// <exception cref="ObjectDisposedException">The allocator's memory has already been reclaimed for good.</exception>
    void RegisterForCleanup(IDisposable disposable);
}
