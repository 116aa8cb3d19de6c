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
        this.UseKestrel(0);
        StartServer();
        BaseAddress = new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        Assert.Equal("127.0.0.1", BaseAddress.Host);
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
