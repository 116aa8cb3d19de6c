using Microsoft.IO;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace WebDemo;

/// <summary>Builds the demo application; <c>Program</c> runs it, the tests and the load test host it.</summary>
public static class DemoApp
{
    /// <summary>Where the demo listens when neither <c>--urls</c>, <c>ASPNETCORE_URLS</c> nor <c>Urls</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Path prefix whose requests skip the arena middleware, to measure what the middleware costs.</summary>
    public const string BarePrefix = "/bare";

    /// <summary>The name of the library's meter, as exporters and <c>dotnet-counters</c> know it.</summary>
    public const string RequestArenaMeter = "RequestArena";

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

        builder.Services.AddOptions<DemoOptions>()
            .Bind(config.GetSection("Demo"))
            .Validate(o => o.TransformMaxBodyBytes is > 0 and <= 256 * 1024 * 1024, "Demo:TransformMaxBodyBytes must be from 1 byte to 256 MiB.")
            .Validate(o => o.RpcMaxThreads is >= 1 and <= 64, "Demo:RpcMaxThreads must be from 1 to 64.")
            .ValidateOnStart();
        DemoOptions demo = config.GetSection("Demo").Get<DemoOptions>() ?? new DemoOptions();

        builder.Services.AddProblemDetails();
        builder.Services.AddRequestArena(options =>
        {
            options.MaxBytesPerRequest = demo.ArenaMaxBytesPerRequest;
            options.DetectUseAfterRelease = demo.ArenaDetectUseAfterRelease;
        });

        // The other buffer sources the endpoints compare with the arena.
        builder.Services.AddScoped<ArrayPoolAllocator>();
        builder.Services.AddSingleton(_ => new RecyclableMemoryStreamManager(new RecyclableMemoryStreamManager.Options
        {
            // Its free pools are unbounded unless capped; these keep about what the arena's pool keeps.
            MaximumSmallPoolFreeBytes = 32L * 1024 * 1024,
            MaximumLargePoolFreeBytes = 32L * 1024 * 1024,
        }));

        builder.Services.AddSingleton<DemoCounters>();
        builder.Services.AddSingleton<SharedSlabDemo>();
        builder.Services.AddSingleton<RpcDemoThreads>();
        AddTelemetry(builder, pushOverOtlp: !string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"]));

        // A malformed or oversized body is the client's error: Kestrel says which (400, 413), and the problem response
        // keeps that status instead of a 500.
        builder.Services.AddExceptionHandler(o => o.StatusCodeSelector = static ex =>
            ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError);

        WebApplication app = builder.Build();

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseWhen(context => !context.Request.Path.StartsWithSegments(BarePrefix), branch => branch.UseRequestArena());

        app.MapGet("/", () => TypedResults.Redirect("/arena")).DisableRequestArena();
        app.MapReport();
        app.MapRecords();
        app.MapTransform(demo.TransformMaxBodyBytes);
        app.MapGet("/api/hello", HelloEndpoint.HandleAsync);
        app.MapGet(BarePrefix + "/hello", HelloEndpoint.HandleAsync);
        app.MapAdapterDemos();
        app.MapStats();
        app.MapDashboard();
        app.MapPrometheusScrapingEndpoint().DisableRequestArena();
        return app;
    }

    // The library's meter beside ASP.NET Core's and the runtime's, scraped at /metrics and, when
    // OTEL_EXPORTER_OTLP_ENDPOINT is set, pushed over OTLP as well.
    private static void AddTelemetry(WebApplicationBuilder builder, bool pushOverOtlp)
    {
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RequestArenaMeter)
                    .AddAspNetCoreInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddPrometheusExporter();
                if (pushOverOtlp)
                {
                    // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL and _HEADERS from configuration
                    // itself (environment, appsettings.json or the command line).
                    metrics.AddOtlpExporter();
                }
            });
    }
}
