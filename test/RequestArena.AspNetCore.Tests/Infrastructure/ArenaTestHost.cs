using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RequestArena.AspNetCore.Tests;

/// <summary>A real WebApplication on TestServer or on Kestrel bound to 127.0.0.1 (port chosen by the OS).</summary>
internal sealed class ArenaTestHost : IAsyncDisposable
{
    // RequestArenaLog.Released: logged by every release that held an arena, as its last step.
    private const int ReleasedEventId = 5;

    private ArenaTestHost(WebApplication app, HttpClient client, LogSink logs, Probe probe)
    {
        App = app;
        Client = client;
        Logs = logs;
        Probe = probe;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public LogSink Logs { get; }

    public Probe Probe { get; }

    public IServiceProvider Services => App.Services;

    public RequestArenaStatistics Statistics => App.Services.GetRequiredService<RequestArenaStatistics>();

    public IMeterFactory MeterFactory => App.Services.GetRequiredService<IMeterFactory>();

    /// <summary>The usual pipeline: AddRequestArena, routing, UseRequestArena, then <paramref name="map"/>.</summary>
    public static Task<ArenaTestHost> StartAsync(
        Action<WebApplication> map,
        Action<RequestArenaOptions>? options = null,
        Action<IServiceCollection>? services = null,
        bool kestrel = false)
    {
        return StartCustomAsync(
            s =>
            {
                if (options is null)
                {
                    s.AddRequestArena();
                }
                else
                {
                    s.AddRequestArena(options);
                }

                services?.Invoke(s);
            },
            app =>
            {
                app.UseRouting();
                app.UseRequestArena();
                map(app);
            },
            kestrel);
    }

    /// <summary>
    /// The usual pipeline (routing, UseRequestArena, then <paramref name="map"/>) under Autofac, a container whose
    /// factories get provider objects of its own over the request's scope, never the one that is RequestServices.
    /// </summary>
    public static Task<ArenaTestHost> StartUnderAutofacAsync(Action<IServiceCollection> services, Action<WebApplication> map) =>
        StartCustomAsync(
            services,
            app =>
            {
                app.UseRouting();
                app.UseRequestArena();
                map(app);
            },
            host: builder => builder.Host.UseServiceProviderFactory(new Autofac.Extensions.DependencyInjection.AutofacServiceProviderFactory()));

    /// <summary>Full control over services and pipeline; <paramref name="host"/> configures the builder itself.</summary>
    public static async Task<ArenaTestHost> StartCustomAsync(
        Action<IServiceCollection> services,
        Action<WebApplication> pipeline,
        bool kestrel = false,
        Action<WebApplicationBuilder>? host = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        host?.Invoke(builder);
        if (kestrel)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        var logs = new LogSink();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);

        var probe = new Probe();
        builder.Services.AddSingleton(probe);
        services(builder.Services);

        WebApplication app = builder.Build();
        try
        {
            pipeline(app);
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        HttpClient client;
        if (kestrel)
        {
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
        }
        else
        {
            client = app.GetTestClient();
        }

        return new ArenaTestHost(app, client, logs, probe);
    }

    public Uri BaseAddress => Client.BaseAddress!;

    /// <summary>
    /// Waits until <paramref name="count"/> request arenas have been released, with everything their release records.
    /// Polling a figure is not enough: a release returns the arena, then adds to the statistics field by field (the
    /// request's bucket before its bytes), then to the meter; only its log line comes after all of that.
    /// </summary>
    public Task WaitForReleasesAsync(int count) =>
        Released.WaitUntilAsync(() => Logs.ForEvent(ReleasedEventId).Count >= count, $"{count} request arenas are released");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
