namespace RequestArena.AspNetCore;

/// <summary>
/// Sets the arena limit of the endpoints it decorates, replacing <see cref="RequestArenaOptions.MaxBytesPerRequest"/>.
/// <c>WithRequestArena(maxBytes)</c> adds the same metadata to minimal-API endpoints and route groups.
/// A <see cref="DisableRequestArenaAttribute"/> on the same endpoint wins over it.
/// </summary>
/// <remarks>When several apply (controller and action), the one closest to the endpoint (the action) wins.</remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class RequestArenaAttribute : Attribute
{
    private long _maxBytes;

    /// <summary>
    /// The most bytes a request to the endpoint may allocate from its arena; 0 (the default) means unlimited,
    /// as for <see cref="RequestArenaOptions.MaxBytesPerRequest"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long MaxBytes
    {
        get => _maxBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxBytes = value;
        }
    }
}
