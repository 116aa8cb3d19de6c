namespace RequestArena.Adapters;

/// <summary>
/// The <c>RPC_STATUS</c> values the RPC-scope allocator (<see cref="RpcScopeAllocator"/>) returns, with their Windows
/// values. Windows documents only the first three for the <c>RpcSm*</c> functions; the others name the misuse
/// cases this implementation reports instead of ignoring, using the closest existing Win32 code.
/// </summary>
public enum RpcStatus
{
    /// <summary><c>RPC_S_OK</c> (0): the call succeeded.</summary>
    Ok = 0,

    /// <summary><c>RPC_S_OUT_OF_MEMORY</c> (14): the environment's quota or the process is out of memory.</summary>
    OutOfMemory = 14,

    /// <summary>
    /// <c>RPC_S_INVALID_ARG</c> (87): a bad size, memory that is not a live block of the current environment (freed
    /// twice, from another environment, sliced), or a handle that has been released.
    /// </summary>
    InvalidArg = 87,

    /// <summary>
    /// <c>ERROR_NOT_OWNER</c> (288): <see cref="RpcScopeAllocator.DisableAllocate"/> on an environment that
    /// <see cref="RpcScopeAllocator.EnableAllocate()"/> did not establish (the request's own, which ends with the request).
    /// </summary>
    NotOwner = 288,

    /// <summary>
    /// <c>ERROR_ALREADY_INITIALIZED</c> (1247): <see cref="RpcScopeAllocator.EnableAllocate()"/> on a flow that already has an
    /// environment (enabled before, handed over with <see cref="RpcScopeAllocator.SetThreadHandle"/>, or a request's).
    /// </summary>
    AlreadyInitialized = 1247,

    /// <summary>
    /// <c>RPC_S_NO_CONTEXT_AVAILABLE</c> (1765): the flow has no memory-management environment, or its environment
    /// has been released (disabled, or its request has ended).
    /// </summary>
    NoEnvironment = 1765,
}
