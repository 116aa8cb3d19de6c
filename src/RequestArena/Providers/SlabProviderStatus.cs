namespace RequestArena;

/// <summary>
/// The result of asking an <see cref="ISlabProvider"/> for memory. The values follow the NDIS status codes the
/// shared-memory handler of the Windows documents returns (NDIS_STATUS_SUCCESS, _RESOURCES, _INVALID_PARAMETER, _FAILURE).
/// </summary>
public enum SlabProviderStatus
{
    /// <summary>The block was allocated.</summary>
    Success = 0,

    /// <summary>The provider is out of memory or of some other resource; a smaller request may succeed.</summary>
    Resources = 1,

    /// <summary>The request itself was malformed (size or alignment out of range).</summary>
    InvalidParameter = 2,

    /// <summary>The provider failed for another reason.</summary>
    Failure = 3,
}
