using System.Runtime.CompilerServices;

namespace RequestArena.Adapters;

/// <summary>
/// The RPC stub memory-management functions (<c>RpcSmAllocate</c>, <c>RpcSmFree</c>, <c>RpcSmEnableAllocate</c>,
/// <c>RpcSmDisableAllocate</c>, <c>RpcSmGetThreadHandle</c>, <c>RpcSmSetThreadHandle</c>) over an ambient
/// <see cref="RpcScopeEnvironment"/> that flows with asynchronous code.
/// </summary>
/// <remarks>
/// <para>
/// Where Windows keeps the environment per thread, this keeps it per asynchronous flow (an
/// <see cref="AsyncLocal{T}"/>): it follows <c>await</c>, <c>Task.Run</c> and everything else that captures the
/// execution context. Work that does not (a new <see cref="Thread"/> started with flow suppressed,
/// <see cref="ThreadPool.UnsafeQueueUserWorkItem(WaitCallback, object?)"/>) receives it the Windows way: the parent
/// passes <see cref="GetThreadHandle"/>'s handle and the worker calls <see cref="SetThreadHandle"/>.
/// </para>
/// <para>
/// As with any <see cref="AsyncLocal{T}"/>, a change made inside an <c>async</c> method is not seen by its caller
/// once the method returns: call <see cref="EnableAllocate()"/> and <see cref="DisableAllocate"/> in the same method.
/// </para>
/// <para>
/// Inside an ASP.NET Core request (with the RequestArena adapters added) the request acts as the server stub: the
/// environment exists for the request, is created on first use, and everything in it is freed when the request ends.
/// </para>
/// </remarks>
public static class RpcScopeAllocator
{
    private static readonly AsyncLocal<RpcScopeEnvironment?> s_current = new();

    // Where a flow with no environment of its own finds its request's, as a hosting layer set it on the flow when the
    // request began. Asked only when the flow has no environment, so requests that never use RPC memory create none.
    // Flow-local rather than process-wide: only requests of a host that set it up act as the RPC stub.
    private static readonly AsyncLocal<Func<RpcScopeEnvironment?>?> s_requestEnvironment = new();

    /// <summary>
    /// Establishes an environment for the current flow (<c>RpcSmEnableAllocate</c>) on <see cref="SlabPool.Shared"/>
    /// with default arena options. Pair it with <see cref="DisableAllocate"/>.
    /// </summary>
    /// <returns>
    /// <see cref="RpcStatus.Ok"/>, or <see cref="RpcStatus.AlreadyInitialized"/> when the flow already has a live
    /// environment (nothing is changed then).
    /// </returns>
    public static RpcStatus EnableAllocate() => EnableAllocate(null);

    /// <summary>
    /// Establishes an environment for the current flow (<c>RpcSmEnableAllocate</c>) whose arena uses
    /// <paramref name="options"/>, for example a quota. Pair it with <see cref="DisableAllocate"/>.
    /// </summary>
    /// <param name="options">Options for the environment's arena (copied); null takes the defaults.</param>
    /// <returns>
    /// <see cref="RpcStatus.Ok"/>, or <see cref="RpcStatus.AlreadyInitialized"/> when the flow already has a live
    /// environment (nothing is changed then).
    /// </returns>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static RpcStatus EnableAllocate(ArenaOptions? options)
    {
        if (CurrentLive() is not null)
        {
            return RpcStatus.AlreadyInitialized;
        }

        Arena arena = options is null ? new Arena() : new Arena(options);
        s_current.Value = RpcScopeEnvironment.CreateEnabled(arena);
        return RpcStatus.Ok;
    }

    /// <summary>
    /// Releases the environment <see cref="EnableAllocate()"/> established (<c>RpcSmDisableAllocate</c>): all its
    /// memory goes back at once, for every thread that shares it, and the flow has no environment afterwards.
    /// </summary>
    /// <returns>
    /// <see cref="RpcStatus.Ok"/>; <see cref="RpcStatus.NoEnvironment"/> when the flow has no live environment
    /// (disable without enable, or twice); <see cref="RpcStatus.NotOwner"/> when the environment was not established
    /// by <see cref="EnableAllocate()"/> (a request's environment ends with its request).
    /// </returns>
    public static RpcStatus DisableAllocate()
    {
        RpcScopeEnvironment? environment = CurrentLive();
        if (environment is null)
        {
            return RpcStatus.NoEnvironment;
        }

        if (!environment.IsEnabledByApplication)
        {
            return RpcStatus.NotOwner;
        }

        environment.Dispose();
        s_current.Value = null;
        return RpcStatus.Ok;
    }

    /// <summary>Allocates <paramref name="size"/> bytes in the current flow's environment (<c>RpcSmAllocate</c>).</summary>
    /// <param name="size">Bytes wanted, from 0 to <see cref="RpcScopeEnvironment.MaxBlockSize"/>.</param>
    /// <param name="status">
    /// <see cref="RpcStatus.Ok"/>; <see cref="RpcStatus.OutOfMemory"/> (<c>RPC_S_OUT_OF_MEMORY</c>) when the quota or
    /// memory is exhausted; <see cref="RpcStatus.InvalidArg"/> for a bad size; <see cref="RpcStatus.NoEnvironment"/>
    /// when the flow has no live environment.
    /// </param>
    /// <returns>The memory, or empty memory when <paramref name="status"/> is not Ok.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Memory<byte> Allocate(int size, out RpcStatus status)
    {
        if (RpcScopeEnvironment.TryAllocateForFlow(size, out Memory<byte> memory))
        {
            status = RpcStatus.Ok;
            return memory;
        }

        return AllocateSlow(size, out status);
    }

    /// <summary>Frees a block of the current flow's environment (<c>RpcSmFree</c>); safe from any thread sharing it.</summary>
    /// <param name="memory">Exactly the memory <see cref="Allocate"/> returned.</param>
    /// <returns>
    /// <see cref="RpcStatus.Ok"/>; <see cref="RpcStatus.InvalidArg"/> when the memory is not a live block of the
    /// current environment (freed already, from another environment or request, sliced);
    /// <see cref="RpcStatus.NoEnvironment"/> when the flow has no live environment.
    /// </returns>
    public static RpcStatus Free(Memory<byte> memory)
    {
        RpcScopeEnvironment? environment = Current();
        return environment is null ? RpcStatus.NoEnvironment : environment.Free(memory);
    }

    /// <summary>
    /// Returns the current flow's environment (<c>RpcSmGetThreadHandle</c>), to hand to work that does not inherit
    /// it, or to save before <see cref="SetThreadHandle"/> and restore afterwards.
    /// </summary>
    /// <param name="status"><see cref="RpcStatus.Ok"/>, or <see cref="RpcStatus.NoEnvironment"/> when there is none.</param>
    /// <returns>The environment, or null when there is none.</returns>
    public static RpcScopeEnvironment? GetThreadHandle(out RpcStatus status)
    {
        RpcScopeEnvironment? environment = CurrentLive();
        status = environment is null ? RpcStatus.NoEnvironment : RpcStatus.Ok;
        return environment;
    }

    /// <summary>
    /// Makes <paramref name="handle"/> the current flow's environment (<c>RpcSmSetThreadHandle</c>); null clears the
    /// flow's own environment (a request's environment still applies inside a request).
    /// </summary>
    /// <param name="handle">A handle from <see cref="GetThreadHandle"/>, or null.</param>
    /// <returns><see cref="RpcStatus.Ok"/>, or <see cref="RpcStatus.InvalidArg"/> when the handle has been released.</returns>
    public static RpcStatus SetThreadHandle(RpcScopeEnvironment? handle)
    {
        if (handle is not null && handle.IsReleased)
        {
            return RpcStatus.InvalidArg;
        }

        s_current.Value = handle;
        return RpcStatus.Ok;
    }

    // Set by a hosting layer on the flow of each request it serves; the delegate must be cheap and return null when
    // the flow is not inside one of its requests.
    internal static void SetRequestEnvironmentSource(Func<RpcScopeEnvironment?> source) => s_requestEnvironment.Value = source;

    // Makes an environment the flow's own without the checks of SetThreadHandle (used by hosting on first use).
    internal static void SetCurrent(RpcScopeEnvironment environment) => s_current.Value = environment;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Memory<byte> AllocateSlow(int size, out RpcStatus status)
    {
        if (RpcScopeEnvironment.TryAllocateForFlowFromThread(size, out Memory<byte> memory))
        {
            status = RpcStatus.Ok;
            return memory;
        }

        RpcScopeEnvironment? environment = Current();
        if (environment is null)
        {
            status = RpcStatus.NoEnvironment;
            return default;
        }

        return environment.AllocateForFlow(size, out status);
    }

    private static RpcScopeEnvironment? Current() => s_current.Value ?? s_requestEnvironment.Value?.Invoke();

    private static RpcScopeEnvironment? CurrentLive()
    {
        RpcScopeEnvironment? environment = s_current.Value;
        if (environment is not null && !environment.IsReleased)
        {
            return environment;
        }

        environment = s_requestEnvironment.Value?.Invoke();
        return environment is not null && !environment.IsReleased ? environment : null;
    }
}
