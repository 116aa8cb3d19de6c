using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace RequestArena.AspNetCore.Adapters;

// Puts the RPC stub middleware first in the host's pipeline, so RPC memory works in every middleware and endpoint that
// runs inside UseRequestArena, wherever the application placed it.
internal sealed class RequestArenaRpcStubStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<RequestArenaRpcStubMiddleware>();
        next(app);
    };
}
