using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace WebDemo.Tests;

/// <summary>The demo on TestServer, with a small transform limit so 413 is cheap to reach.</summary>
public sealed class DemoFactory : WebApplicationFactory<Program>
{
    public const int TransformLimit = 300 * 1024;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Demo:TransformMaxBodyBytes", TransformLimit.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
