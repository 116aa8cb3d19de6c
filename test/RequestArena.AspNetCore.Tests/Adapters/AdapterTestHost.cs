using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RequestArena.AspNetCore.Tests.Adapters;

// A real WebApplication with the request arena and its adapters, on TestServer or on Kestrel (127.0.0.1, port
// chosen by the OS). Kept apart from the middleware tests' host so the two suites can change independently.
internal sealed class AdapterTestHost : IAsyncDisposable
{
    private AdapterTestHost(WebApplication app, HttpClient client)
    {
        App = app;
        Client = client;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public RequestArenaStatistics Statistics => App.Services.GetRequiredService<RequestArenaStatistics>();

    public static async Task<AdapterTestHost> StartAsync(
        Action<WebApplication> map,
        Action<IServiceCollection>? services = null,
        bool kestrel = false,
        bool addAdapters = true)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        if (kestrel)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Logging.ClearProviders();
        builder.Services.AddRequestArena();
        if (addAdapters)
        {
            builder.Services.AddRequestArenaAdapters();
        }

        services?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        app.UseRouting();
        app.UseRequestArena();
        map(app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        HttpClient client = kestrel
            ? new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()) }
            : app.GetTestClient();
        return new AdapterTestHost(app, client);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
