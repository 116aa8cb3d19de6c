using System.Reflection;
using Microsoft.Net.Http.Headers;

namespace WebDemo;

/// <summary>Serves the dashboard's files, embedded in the assembly (no CDN, no front-end build).</summary>
internal static class DashboardEndpoint
{
    private static readonly Dictionary<string, (byte[] Content, string ContentType)> s_files = Load();

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        RouteGroupBuilder dashboard = endpoints.MapGroup("/arena").DisableRequestArena();
        dashboard.MapGet("", (HttpResponse response) => ServeAsync(response, "dashboard.html"));
        dashboard.MapGet("/dashboard.js", (HttpResponse response) => ServeAsync(response, "dashboard.js"));
        dashboard.MapGet("/dashboard.css", (HttpResponse response) => ServeAsync(response, "dashboard.css"));
        return endpoints;
    }

    private static Task ServeAsync(HttpResponse response, string name)
    {
        (byte[] content, string contentType) = s_files[name];
        response.ContentType = contentType;
        response.ContentLength = content.Length;
        response.Headers[HeaderNames.CacheControl] = "no-cache";
        return response.Body.WriteAsync(content).AsTask();
    }

    private static Dictionary<string, (byte[], string)> Load()
    {
        Assembly assembly = typeof(DashboardEndpoint).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach ((string name, string type) in new[]
        {
            ("dashboard.html", "text/html; charset=utf-8"),
            ("dashboard.js", "text/javascript; charset=utf-8"),
            ("dashboard.css", "text/css; charset=utf-8"),
        })
        {
            using Stream stream = assembly.GetManifestResourceStream("WebDemo.Dashboard." + name)
                ?? throw new InvalidOperationException($"The dashboard file {name} is not embedded in {assembly.GetName().Name}.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name] = (copy.ToArray(), type);
        }

        return files;
    }
}
