namespace RequestArena.AspNetCore;

/// <summary>
/// Turns the request arena off for the endpoints it decorates: <c>GetRequestArena()</c>, the feature's allocator and
/// an injected <see cref="IModuleAllocator"/> then throw <see cref="InvalidOperationException"/>. It wins over any
/// <see cref="RequestArenaAttribute"/> or <c>WithRequestArena</c> on the same endpoint, as
/// <c>DisableRequestTimeout</c> does for request timeouts. <c>DisableRequestArena()</c> adds the same metadata.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class DisableRequestArenaAttribute : Attribute
{
}
