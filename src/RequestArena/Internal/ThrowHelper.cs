using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace RequestArena;

// Every throw lives here so that the callers' fast paths stay small enough to inline.
internal static class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowNegativeSize(string paramName, long value) =>
        throw new ArgumentOutOfRangeException(paramName, value, "The size must not be negative.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowTooLarge(string paramName, long value, long max) =>
        throw new ArgumentOutOfRangeException(paramName, value, $"The size must not exceed {max} bytes, the largest block the arena can hand out.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowTooManyElements(string paramName, long value, long max) =>
        throw new ArgumentOutOfRangeException(paramName, value, $"The count must not exceed {max} elements of this type, the largest block the arena can hand out.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowArenaDisposed() => throw new ObjectDisposedException(nameof(Arena), "The arena has been disposed.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowPoolDisposed() => throw new ObjectDisposedException(nameof(SlabPool), "The slab pool has been disposed.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowMemoryReleased() =>
        throw new ObjectDisposedException("ArenaMemory", "This memory belonged to an arena that has since been reset or disposed (its request has ended).");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowCycleEnded() =>
        throw new ObjectDisposedException(
            nameof(IModuleAllocator),
            "The arena cycle (request) this allocator belonged to has ended and its memory has been released. Keep a request's IModuleAllocator, and memory from it, only for the duration of the request.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static Arena ThrowDefaultCursor() =>
        throw new InvalidOperationException("This ArenaCursor is default; create one with Arena.CreateCursor or IArenaAllocator.CreateCursor.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowHeldLimitExceeded(long limit, long requested, long allocated, long held) =>
        throw new ArenaLimitExceededException(limit, requested, allocated, held);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowLimitExceeded(long limit, long requested, long allocated) =>
        throw new ArenaLimitExceededException(limit, requested, allocated);

    // Marks the AggregateException of several failed frees, so that the hosting layer can tell it from the one of failed
    // cleanups, which a release throws the same way.
    private const string ProviderFreeFailedKey = "RequestArena.SlabProviderFreeFailed";

    public static bool IsProviderFreeFailure(AggregateException exception) => exception.Data.Contains(ProviderFreeFailedKey);

    // The provider's own exception when it threw once, so the caller sees what its provider reported.
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowProviderFreeFailed(List<Exception> errors)
    {
        if (errors.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(errors[0]);
        }

        var failure = new AggregateException("The slab provider failed to free one or more blocks; every block was offered to it.", errors);
        failure.Data[ProviderFreeFailedKey] = true;
        throw failure;
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowOutOfMemory(long size, SlabProviderStatus status) =>
        throw new InsufficientMemoryException($"The slab provider could not supply {size} bytes (status {status}).");
}
