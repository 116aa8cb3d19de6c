using Microsoft.Extensions.Options;
using RequestArena.AspNetCore;

namespace WebDemo;

/// <summary>Builds the demo application; <c>Program</c> runs it, the tests and the load test host it.</summary>
public static class DemoApp
{
    /// <summary>Where the demo listens when neither <c>--urls</c>, <c>ASPNETCORE_URLS</c> nor <c>Urls</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Path prefix whose requests skip the arena middleware, to measure what the middleware costs.</summary>
    public const string BarePrefix = "/bare";

    /// <summary>Creates the application with every endpoint mapped.</summary>
    /// <param name="args">Command-line arguments (standard host switches such as <c>--urls</c>).</param>
    /// <returns>The application, not yet started.</returns>
    public static WebApplication Create(string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);

        // Code rather than launchSettings.json so `dotnet run`, `dotnet WebDemo.dll` and the tests agree, and
        // only when nothing configured an address, so --urls and ASPNETCORE_URLS keep working.
        IConfiguration config = builder.Configuration;
        if (string.IsNullOrEmpty(config["urls"]) && string.IsNullOrEmpty(config["http_ports"]) && string.IsNullOrEmpty(config["https_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Services.Configure<DemoOptions>(config.GetSection("Demo"));
        var demo = new DemoOptions();
        config.GetSection("Demo").Bind(demo);

        builder.Services.AddProblemDetails();
        builder.Services.AddRequestArena(options =>
        {
            options.MaxBytesPerRequest = demo.ArenaMaxBytesPerRequest;
            options.DetectUseAfterRelease = demo.ArenaDetectUseAfterRelease;
        });
        builder.Services.AddSingleton<DemoCounters>();
        builder.Services.AddSingleton<SharedSlabDemo>();

        WebApplication app = builder.Build();

        app.UseWhen(context => !context.Request.Path.StartsWithSegments(BarePrefix), branch => branch.UseRequestArena());
        MapEndpoints(app);
        return app;
    }

    private static void MapEndpoints(WebApplication app)
    {
        app.MapGet("/", context =>
        {
            context.Response.Redirect("/arena");
            return Task.CompletedTask;
        });
        // Singletons captured here rather than resolved per request: resolving from RequestServices creates the
        // request's DI scope, an allocation per request that every mode would pay.
        DemoCounters counters = app.Services.GetRequiredService<DemoCounters>();
        long transformLimit = app.Services.GetRequiredService<IOptions<DemoOptions>>().Value.TransformMaxBodyBytes;
        app.MapGet("/api/report", context => ReportEndpoint.HandleAsync(context, counters));
        app.MapPost("/api/transform", context => TransformEndpoint.HandleAsync(context, counters, transformLimit));
        app.MapGet("/api/hello", HelloEndpoint.HandleAsync);
        app.MapGet(BarePrefix + "/hello", HelloEndpoint.HandleAsync);
        app.MapGet("/arena/stats", StatsEndpoint.HandleAsync);
        app.MapDashboard();
        app.MapAdapterDemos();
    }
}
