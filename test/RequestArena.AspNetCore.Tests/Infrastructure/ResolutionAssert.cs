using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests;

// For objects that belong to the current request: resolving them, inside that request, from the root provider or from a
// scope the handler creates is refused, and the refusal names the request's own services. A container may wrap the
// refusal in an exception of its own (Autofac does), so the message is looked for along the inner exceptions too.
internal static class ResolutionAssert
{
    public static void RefusedOutsideTheRequestsServices<T>(IServiceProvider root, HttpContext context)
        where T : notnull
    {
        AssertRefused(Record.Exception(() => root.GetRequiredService<T>()));

        using IServiceScope child = context.RequestServices.CreateScope();
        AssertRefused(Record.Exception(() => child.ServiceProvider.GetRequiredService<T>()));
    }

    private static void AssertRefused(Exception? thrown)
    {
        Assert.NotNull(thrown);
        for (Exception? ex = thrown; ex is not null; ex = ex.InnerException)
        {
            if (ex is InvalidOperationException && ex.Message.Contains("HttpContext.RequestServices", StringComparison.Ordinal))
            {
                return;
            }
        }

        Assert.Fail($"Expected a refusal naming HttpContext.RequestServices, got: {thrown}");
    }
}
