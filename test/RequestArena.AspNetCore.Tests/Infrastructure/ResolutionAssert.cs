using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests;

// For objects that belong to the current request: resolving them, inside that request, from the root provider or from a
// scope the handler creates is refused, and the refusal names the request's own services.
internal static class ResolutionAssert
{
    public static void RefusedOutsideTheRequestsServices<T>(IServiceProvider root, HttpContext context)
        where T : notnull
    {
        var fromRoot = Assert.Throws<InvalidOperationException>(() => root.GetRequiredService<T>());
        Assert.Contains("HttpContext.RequestServices", fromRoot.Message);

        using IServiceScope child = context.RequestServices.CreateScope();
        var fromChild = Assert.Throws<InvalidOperationException>(() => child.ServiceProvider.GetRequiredService<T>());
        Assert.Contains("HttpContext.RequestServices", fromChild.Message);
    }
}
