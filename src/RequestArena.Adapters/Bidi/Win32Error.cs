namespace RequestArena.Adapters;

/// <summary>
/// The Win32 error codes the bidi allocator reports through <see cref="BidiAllocator.GetLastError"/>, with their
/// Windows values so they compare equal to what <c>GetLastError</c> returns on Windows.
/// </summary>
public enum Win32Error
{
    /// <summary><c>ERROR_SUCCESS</c> (0): no error has been recorded on this flow.</summary>
    Success = 0,

    /// <summary>
    /// <c>ERROR_INVALID_HANDLE</c> (6): the allocator has been released (its request or arena has ended), so it
    /// cannot hand out memory any more.
    /// </summary>
    InvalidHandle = 6,

    /// <summary><c>ERROR_NOT_ENOUGH_MEMORY</c> (8): the request's quota or the process is out of memory.</summary>
    NotEnoughMemory = 8,

    /// <summary>
    /// <c>ERROR_INVALID_PARAMETER</c> (87): a bad size, or a block that is not live in this allocator (freed twice,
    /// from another allocator or request, or freed after its request ended).
    /// </summary>
    InvalidParameter = 87,
}
