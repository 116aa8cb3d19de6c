using Microsoft.Extensions.Options;

namespace RequestArena.AspNetCore;

// Runs at host start (ValidateOnStart), so a bad value stops the application before the first request with a
// message naming the option, the accepted range and the value found.
internal sealed class RequestArenaOptionsValidator : IValidateOptions<RequestArenaOptions>
{
    public ValidateOptionsResult Validate(string? name, RequestArenaOptions options)
    {
        List<string>? failures = null;

        if (options.MaxBytesPerRequest < 0)
        {
            (failures ??= []).Add($"RequestArenaOptions.MaxBytesPerRequest must be 0 (unlimited) or positive; it was {options.MaxBytesPerRequest}.");
        }

        if (options.SlabSize < SlabPoolOptions.MinSlabSize || options.SlabSize > SlabPoolOptions.MaxSlabSize)
        {
            (failures ??= []).Add($"RequestArenaOptions.SlabSize must be from {SlabPoolOptions.MinSlabSize} to {SlabPoolOptions.MaxSlabSize} bytes; it was {options.SlabSize}.");
        }

        if (options.MaxRetainedBytes < 0)
        {
            (failures ??= []).Add($"RequestArenaOptions.MaxRetainedBytes must be 0 or positive; it was {options.MaxRetainedBytes}.");
        }

        // The pool's own bounds: below a millisecond its timer would fire once and never again.
        if (!SlabPoolOptions.IsValidTrimInterval(options.TrimInterval))
        {
            (failures ??= []).Add(
                $"RequestArenaOptions.TrimInterval must be from {SlabPoolOptions.MinTrimInterval} to {SlabPoolOptions.MaxTrimInterval}, or Timeout.InfiniteTimeSpan; it was {options.TrimInterval}.");
        }

        if (!options.DetectUseAfterRelease && options.SlabProvider is { BlocksOutliveRelease: false } provider)
        {
            (failures ??= []).Add(
                $"RequestArenaOptions.DetectUseAfterRelease = false cannot be used with RequestArenaOptions.SlabProvider '{provider.Name}': it frees or unmaps "
                + "the slabs the pool drops, so memory kept past its request would point at freed memory. Keep DetectUseAfterRelease on, or leave SlabProvider unset (pinned arrays).");
        }

        if (options.LimitExceededStatusCode < 400 || options.LimitExceededStatusCode > 599)
        {
            (failures ??= []).Add($"RequestArenaOptions.LimitExceededStatusCode must be an HTTP error status from 400 to 599; it was {options.LimitExceededStatusCode}.");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
