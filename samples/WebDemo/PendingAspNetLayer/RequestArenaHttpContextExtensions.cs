// Stand-in for branch `aspnet`; delete when merging it.
using RequestArena;
using RequestArena.AspNetCore;

namespace Microsoft.AspNetCore.Http;

public static class RequestArenaHttpContextExtensions
{
    public static IModuleAllocator GetRequestArena(this HttpContext context) =>
        context.Features.Get<IRequestArenaFeature>()?.Allocator
        ?? throw new InvalidOperationException("This request has no arena: call UseRequestArena().");
}
