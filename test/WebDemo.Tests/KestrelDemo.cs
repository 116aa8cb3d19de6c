using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace WebDemo.Tests;

/// <summary>The demo on a real Kestrel server on 127.0.0.1 and a free port, with extra settings.</summary>
internal sealed class KestrelDemo : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string> _settings;

    public KestrelDemo(Dictionary<string, string>? settings = null)
    {
        _settings = settings ?? [];
        // Not UseKestrel(port): the factory then rewrites the server's addresses after Build, while the demo's own
        // entry point is already starting the host on another thread, and the two can interleave into a second address.
        // The address comes from configuration instead, which the host reads before it starts.
        this.UseKestrel();
        StartServer();
        string[] addresses = [.. Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses];
        Assert.True(addresses.Length == 1, $"expected one address, got: {string.Join(", ", addresses)}");
        BaseAddress = new Uri(addresses[0]);
        Assert.Equal("127.0.0.1", BaseAddress.Host);
        Assert.NotEqual(0, BaseAddress.Port);
    }

    public Uri BaseAddress { get; }

    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseAddress };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("urls", "http://127.0.0.1:0");
        foreach ((string key, string value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}
