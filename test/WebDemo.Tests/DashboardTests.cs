using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;

namespace WebDemo.Tests;

public sealed class DashboardTests(DemoFactory factory) : IClassFixture<DemoFactory>
{
    [Fact]
    public async Task Dashboard_ServesPageWithChartsAndBurstButton()
    {
        using HttpClient client = factory.CreateClient();
        using HttpResponseMessage response = await client.GetAsync("/arena");
        string html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<svg id=\"histogram-chart\"", html);
        Assert.Contains("<svg id=\"pool-chart\"", html);
        Assert.Contains("id=\"burst\"", html);
        Assert.Contains("src=\"/arena/dashboard.js\"", html);
        Assert.DoesNotContain("https://", html);
    }

    [Theory]
    [InlineData("/arena/dashboard.js", "text/javascript", "/arena/stats")]
    [InlineData("/arena/dashboard.css", "text/css", "svg")]
    public async Task Dashboard_ServesItsAssets(string path, string mediaType, string expected)
    {
        using HttpClient client = factory.CreateClient();
        using HttpResponseMessage response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Root_RedirectsToDashboard()
    {
        using HttpClient client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using HttpResponseMessage response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/arena", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("/api/hello")]
    [InlineData("/bare/hello")]
    public async Task Hello_WithOrWithoutMiddleware_ReturnsFixedText(string path)
    {
        using HttpClient client = factory.CreateClient();

        Assert.Equal("hello from WebDemo\n", await client.GetStringAsync(path));
    }

    [Fact]
    public async Task UnknownPath_Returns404()
    {
        using HttpClient client = factory.CreateClient();
        using HttpResponseMessage response = await client.GetAsync("/api/nothing-here");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
