using Microsoft.Extensions.DependencyInjection;
using RequestArena;
using RequestArena.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the request arena middleware to a pipeline.</summary>
public static class RequestArenaApplicationBuilderExtensions
{
    // Set on IApplicationBuilder.Properties by UseRouting(); its presence means routing runs before us.
    private const string EndpointRouteBuilderKey = "__EndpointRouteBuilder";
    private const string MiddlewareAddedKey = "__RequestArenaMiddlewareAdded";

    /// <summary>
    /// Adds the middleware that gives every request its own arena, reachable through <c>HttpContext.GetRequestArena()</c>,
    /// <see cref="IRequestArenaFeature"/> and an injected <see cref="IModuleAllocator"/>, and released once the
    /// response has been sent (or when the endpoint throws). A request that never uses its arena costs almost nothing.
    /// </summary>
    /// <remarks>
    /// Call it after <c>UseRouting()</c> (when you call that explicitly) and before the endpoints, as for
    /// <c>UseRequestTimeouts()</c>: endpoint metadata (<c>WithRequestArena</c>, <c>DisableRequestArena</c>,
    /// <see cref="RequestArenaAttribute"/>, <see cref="DisableRequestArenaAttribute"/>) is read when the arena is
    /// first used, so it applies to any arena first used once routing has selected the endpoint. The middleware logs
    /// a warning (event id 4) the first time it sees routing run after it. Calling this method again on the same
    /// pipeline adds nothing.
    /// </remarks>
    /// <param name="app">The application builder.</param>
    /// <returns><paramref name="app"/>, for chaining.</returns>
    /// <exception cref="InvalidOperationException"><c>AddRequestArena()</c> was not called on the services.</exception>
    public static IApplicationBuilder UseRequestArena(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);

        if (app.ApplicationServices.GetService<RequestArenaMarkerService>() is null)
        {
            throw new InvalidOperationException(
                "UseRequestArena() needs the request arena services: call builder.Services.AddRequestArena() (or services.AddRequestArena() in ConfigureServices) before building the application.");
        }

        if (app.Properties.ContainsKey(MiddlewareAddedKey))
        {
            return app;
        }

        app.Properties[MiddlewareAddedKey] = true;
        bool routingBefore = app.Properties.ContainsKey(EndpointRouteBuilderKey);
        IServiceProvider services = app.ApplicationServices;

        // Resolved when the pipeline is built (host start), after ValidateOnStart has checked the options.
        return app.Use(next => new RequestArenaMiddleware(next, services.GetRequiredService<RequestArenaRuntime>(), routingBefore).Invoke);
    }
}
