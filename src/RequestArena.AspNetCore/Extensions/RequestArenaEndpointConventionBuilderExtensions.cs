using RequestArena;
using RequestArena.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Sets request arena metadata on endpoints, route groups and controllers.</summary>
public static class RequestArenaEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Sets the arena limit of the endpoints, replacing <see cref="RequestArenaOptions.MaxBytesPerRequest"/>; the same
    /// as <see cref="RequestArenaAttribute"/>. A request that lets the resulting <see cref="ArenaLimitExceededException"/>
    /// escape gets <see cref="RequestArenaOptions.LimitExceededStatusCode"/>.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <param name="maxBytes">The most bytes a request may allocate from its arena; 0 means unlimited.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBytes"/> is negative.</exception>
    public static TBuilder WithRequestArena<TBuilder>(this TBuilder builder, long maxBytes)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);

        var metadata = new RequestArenaAttribute { MaxBytes = maxBytes };
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }

    /// <summary>
    /// Turns the request arena off for the endpoints; the same as <see cref="DisableRequestArenaAttribute"/>, and it
    /// wins over any limit set on them.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The endpoint convention builder.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    public static TBuilder DisableRequestArena<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        var metadata = new DisableRequestArenaAttribute();
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
