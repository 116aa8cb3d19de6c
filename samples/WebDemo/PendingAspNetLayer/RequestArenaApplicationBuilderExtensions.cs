// Stand-in for branch `aspnet`; delete when merging it.
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RequestArena;
using RequestArena.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

public static class RequestArenaApplicationBuilderExtensions
{
    public static IApplicationBuilder UseRequestArena(this IApplicationBuilder app)
    {
        PendingArenaState state = app.ApplicationServices.GetRequiredService<PendingArenaState>();
        return app.Use(async (context, next) =>
        {
            Arena arena = state.Pool.Rent();
            context.Features.Set<IRequestArenaFeature>(new PendingFeature(arena));
            try
            {
                await next(context);
            }
            catch (ArenaLimitExceededException) when (!context.Response.HasStarted)
            {
                context.Response.StatusCode = state.Options.LimitExceededStatusCode;
            }
            finally
            {
                long used = arena.AllocatedBytes;
                if (used > 0)
                {
                    state.Allocated.Record(used);
                }

                state.Pool.Return(arena);
            }
        });
    }

    private sealed class PendingFeature(IModuleAllocator allocator) : IRequestArenaFeature
    {
        public IModuleAllocator Allocator { get; } = allocator;
    }
}
