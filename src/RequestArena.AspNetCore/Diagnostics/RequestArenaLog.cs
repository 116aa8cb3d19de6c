using Microsoft.Extensions.Logging;

namespace RequestArena.AspNetCore;

// Event ids are part of the documented surface (docs/ASPNETCORE.md): keep them stable.
internal static partial class RequestArenaLog
{
    [LoggerMessage(1, LogLevel.Warning,
        "Request arena limit exceeded on endpoint '{Endpoint}': allocating {RequestedBytes} bytes would pass the limit of {LimitBytes} bytes ({AllocatedBytes} bytes already allocated). Responding {StatusCode}.",
        EventName = "LimitExceeded")]
    public static partial void LimitExceeded(ILogger logger, string endpoint, long requestedBytes, long limitBytes, long allocatedBytes, int statusCode);

    [LoggerMessage(2, LogLevel.Warning,
        "Request arena limit exceeded on endpoint '{Endpoint}' after the response started: allocating {RequestedBytes} bytes would pass the limit of {LimitBytes} bytes ({AllocatedBytes} bytes already allocated). The exception is rethrown and the response aborted.",
        EventName = "LimitExceededResponseStarted")]
    public static partial void LimitExceededResponseStarted(ILogger logger, string endpoint, long requestedBytes, long limitBytes, long allocatedBytes);

    [LoggerMessage(3, LogLevel.Error,
        "A cleanup registered on the request arena of endpoint '{Endpoint}' threw while the arena was released; the arena was still fully released.",
        EventName = "CleanupFailed")]
    public static partial void CleanupFailed(ILogger logger, string endpoint, Exception exception);

    [LoggerMessage(4, LogLevel.Warning,
        "UseRequestArena() runs before UseRouting(): endpoint metadata (WithRequestArena, DisableRequestArena, [RequestArena], [DisableRequestArena]) applies only to arenas first used after routing has selected the endpoint. Call app.UseRequestArena() after app.UseRouting().",
        EventName = "MiddlewareBeforeRouting")]
    public static partial void MiddlewareBeforeRouting(ILogger logger);

    [LoggerMessage(5, LogLevel.Debug,
        "Request arena of endpoint '{Endpoint}' released: {AllocatedBytes} bytes allocated, {SlabsRented} slabs rented.",
        EventName = "Released")]
    public static partial void Released(ILogger logger, string endpoint, long allocatedBytes, long slabsRented);

    [LoggerMessage(6, LogLevel.Error,
        "The slab provider threw while freeing blocks of the request arena of endpoint '{Endpoint}'; every block was still offered to it and none stays with the arena.",
        EventName = "SlabProviderFreeFailed")]
    public static partial void SlabProviderFreeFailed(ILogger logger, string endpoint, Exception exception);

    [LoggerMessage(7, LogLevel.Error,
        "The slab provider threw while the host freed the request arenas' idle blocks at shutdown; every block was still offered to it.",
        EventName = "SlabPoolDisposeFailed")]
    public static partial void SlabPoolDisposeFailed(ILogger logger, Exception exception);
}
